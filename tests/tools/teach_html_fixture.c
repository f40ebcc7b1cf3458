/* teach_html_fixture IN.json OUT.html: the teaching page for an explain document read from a
 * file, through the writer `evsim run --html` uses (sim/teach_html.c). The page's tests write
 * their hand-made documents (the .json files in tests/browser) with it. Exit status 2 for bad
 * input, with a message naming the file and line; nothing is written then. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim/teach_html.h"

/* The whole file, NUL-terminated, or NULL with a message in d. */
static char *read_file(const char *path, size_t *len, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_set(d, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    bool failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        free(buf);
        diag_set(d, "%s: cannot read", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static unsigned line_of(const char *text, size_t offset)
{
    unsigned line = 1;
    for (size_t i = 0; i < offset && text[i]; i++)
        line += text[i] == '\n';
    return line;
}

/* The document in path, or NULL with a message naming the file and line of the error. */
static struct json_object *parse_file(const char *path, struct diag *d)
{
    size_t len = 0;
    char *text = read_file(path, &len, d);
    if (!text)
        return NULL;
    struct json_tokener *tok = json_tokener_new();
    struct json_object *doc = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    if (!doc || err != json_tokener_success) {
        size_t at = json_tokener_get_parse_end(tok);
        diag_set(
            d, "%s:%u: not valid JSON: %s", path, line_of(text, at),
            json_tokener_error_desc(err == json_tokener_success ? json_tokener_continue : err));
        json_object_put(doc);
        doc = NULL;
    }
    size_t end = json_tokener_get_parse_end(tok);
    if (doc && text[end + strspn(text + end, " \t\r\n")] != '\0') {
        diag_set(d, "%s:%u: text after the JSON document", path, line_of(text, end));
        json_object_put(doc);
        doc = NULL;
    }
    json_tokener_free(tok);
    free(text);
    return doc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: teach_html_fixture IN.json OUT.html\n");
        return 2;
    }
    struct diag d = {0};
    struct json_object *doc = parse_file(argv[1], &d);
    if (!doc) {
        fprintf(stderr, "teach_html_fixture: %s\n", d.msg);
        return 2;
    }
    struct diag check;
    int rc = 0;
    if (teach_html_check(doc, &check) != 0) {
        fprintf(stderr, "teach_html_fixture: %s: %s\n", argv[1], check.msg);
        rc = 2;
    } else if (teach_html_write(argv[2], doc, &d) != 0) {
        fprintf(stderr, "teach_html_fixture: %s\n", d.msg);
        rc = 2;
    }
    json_object_put(doc);
    return rc;
}
