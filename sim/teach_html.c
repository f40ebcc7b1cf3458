/* The teaching page's writer: the page template with its stylesheet, its script and the explain
 * document put in place of the three tags that, in the source tree, load them from files. */
#include "sim/teach_html.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The members the page cannot do without, and their types. */
static const struct {
    const char *name;
    json_type type;
} required_members[] = {
    {"format", json_type_string}, {"cpu_hz", json_type_int},     {"end_cycles", json_type_int},
    {"domains", json_type_array}, {"initial", json_type_object}, {"steps", json_type_array},
    {"vcpus", json_type_array},
};

static int check_steps(struct json_object *steps, struct diag *d)
{
    size_t n = json_object_array_length(steps);
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(steps, i), *changes;
        if (!json_object_is_type(s, json_type_object))
            return diag_set(d, "explain document: steps[%zu] is not an object", i);
        if (json_object_object_get_ex(s, "changes", &changes) &&
            !json_object_is_type(changes, json_type_array))
            return diag_set(d, "explain document: steps[%zu].changes is not an array", i);
    }
    return 0;
}

int teach_html_check(struct json_object *doc, struct diag *d)
{
    if (!json_object_is_type(doc, json_type_object))
        return diag_set(d, "explain document: not a JSON object");
    for (size_t i = 0; i < sizeof(required_members) / sizeof(required_members[0]); i++) {
        struct json_object *v;
        if (!json_object_object_get_ex(doc, required_members[i].name, &v))
            return diag_set(d, "explain document: no \"%s\"", required_members[i].name);
        if (!json_object_is_type(v, required_members[i].type))
            return diag_set(d, "explain document: \"%s\" must be %s, not %s",
                            required_members[i].name, json_type_to_name(required_members[i].type),
                            json_type_to_name(json_object_get_type(v)));
    }
    struct json_object *format = json_object_object_get(doc, "format");
    if (strcmp(json_object_get_string(format), TEACH_EXPLAIN_FORMAT) != 0)
        return diag_set(d, "explain document: format \"%s\", this page reads \"%s\"",
                        json_object_get_string(format), TEACH_EXPLAIN_FORMAT);
    struct json_object *initial_doms;
    if (!json_object_object_get_ex(json_object_object_get(doc, "initial"), "domains",
                                   &initial_doms) ||
        !json_object_is_type(initial_doms, json_type_array))
        return diag_set(d, "explain document: \"initial\" has no \"domains\" array");
    return check_steps(json_object_object_get(doc, "steps"), d);
}

/* The JSON text, with every "<" written as \u003c: "<" occurs only inside strings, where the
 * escape means the same, and without it a step's text holding "</script>" or "<!--" would end
 * or derail the <script> block that carries the document. */
static void write_json_for_script(FILE *f, const char *json)
{
    for (const char *p = json; *p;) {
        size_t run = strcspn(p, "<");
        fwrite(p, 1, run, f);
        p += run;
        if (*p == '<') {
            fputs("\\u003c", f);
            p++;
        }
    }
}

/* The three tags of page.html that load its parts from files in the source tree (so the
 * template opens in a browser as it is), in the order they appear, and what replaces each. */
enum page_part { PART_CSS, PART_DATA, PART_JS };
static const struct {
    const char *tag;
    enum page_part part;
} page_tags[] = {
    {"<link rel=\"stylesheet\" href=\"page.css\">", PART_CSS},
    {"<script type=\"application/json\" id=\"evsim-data\"></script>", PART_DATA},
    {"<script src=\"page.js\"></script>", PART_JS},
};

static void write_part(FILE *f, enum page_part part, const char *json)
{
    switch (part) {
    case PART_CSS:
        fprintf(f, "<style>\n%s</style>", teach_page_css);
        break;
    case PART_DATA:
        fputs("<script type=\"application/json\" id=\"evsim-data\">", f);
        write_json_for_script(f, json);
        fputs("</script>", f);
        break;
    case PART_JS:
        fprintf(f, "<script>\n%s</script>", teach_page_js);
        break;
    }
}

/* The template with its tags replaced; -1 when a tag is missing (a broken page.html). */
static int write_page(FILE *f, const char *json, struct diag *d)
{
    const char *p = teach_page_html;
    for (size_t i = 0; i < sizeof(page_tags) / sizeof(page_tags[0]); i++) {
        const char *at = strstr(p, page_tags[i].tag);
        if (!at)
            return diag_set(d, "sim/teach/page.html lacks %s (after the previous part)",
                            page_tags[i].tag);
        fwrite(p, 1, (size_t)(at - p), f);
        write_part(f, page_tags[i].part, json);
        p = at + strlen(page_tags[i].tag);
    }
    fputs(p, f);
    return 0;
}

int teach_html_write(const char *path, struct json_object *doc, struct diag *d)
{
    struct diag why;
    if (teach_html_check(doc, &why) != 0)
        return diag_set(d, "--html %s: %s", path, why.msg);
    return teach_html_write_text(path,
                                 json_object_to_json_string_ext(
                                     doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                                 d);
}

int teach_html_write_text(const char *path, const char *json, struct diag *d)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return diag_set(d, "--html %s: out of memory", path);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        diag_set(d, "--html %s: cannot create the file: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return -1;
    }
    fchmod(fd, 0644); /* mkstemp makes it private; a page is not */
    int rc = write_page(f, json, d);
    bool ok = rc == 0 && !ferror(f);
    ok = (fclose(f) == 0) && ok;
    int saved = errno;
    if (ok && rename(tmp, path) != 0) {
        saved = errno;
        ok = false;
    }
    if (!ok) {
        if (rc == 0)
            diag_set(d, "--html %s: cannot write the file: %s", path, strerror(saved));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}
