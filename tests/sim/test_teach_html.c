/* The teaching page's writer (sim/teach_html.c): which documents it refuses and why, that the
 * page it writes is self-contained with the document intact and unable to close its own script
 * block, that it is the same bytes every time, and that a refusal leaves no file. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/teach_html.h"

/* The smallest document the page reads, with a step whose text could end a script block. */
#define GOOD_DOC                                                                                   \
    "{\"format\": \"evsim-explain/1\", \"scenario\": \"t\", \"cpu_hz\": 2900000000,"               \
    " \"end_cycles\": 100, \"truncated\": false,"                                                  \
    " \"domains\": [{\"id\": 0, \"abi\": \"2l\", \"vcpus\": 1, \"ports\": 64}],"                   \
    " \"initial\": {\"domains\": [{\"id\": 0, \"pending\": [], \"masked\": [], \"chans\": {},"     \
    " \"vcpus\": [{\"upcall_pending\": 0, \"upcall_mask\": 0, \"sel\": \"0x0\"}]}]},"              \
    " \"steps\": [{\"i\": 0, \"t\": 10, \"ns\": 3, \"dom\": 0, \"vcpu\": 0, \"port\": 5,"          \
    " \"who\": \"xen\", \"kind\": \"set_pending\", \"fn\": \"evtchn_2l_set_pending\","             \
    " \"text\": \"</script><!-- <script> a/b\", \"flow\": null,"                                   \
    " \"changes\": [{\"k\": \"pending\", \"dom\": 0, \"port\": 5, \"from\": 0, \"to\": 1}]}],"     \
    " \"vcpus\": []}"

static const struct {
    const char *name, *json, *message; /* message: NULL when the document is good */
} check_cases[] = {
    {"good", GOOD_DOC, NULL},
    {"array", "[]", "not a JSON object"},
    {"no format", "{\"cpu_hz\": 1}", "no \"format\""},
    {"format is a number", "{\"format\": 1}", "\"format\" must be string, not int"},
    {"other format",
     "{\"format\": \"evsim-explain/9\", \"cpu_hz\": 1, \"end_cycles\": 1, \"domains\": [],"
     " \"initial\": {\"domains\": []}, \"steps\": [], \"vcpus\": []}",
     "format \"evsim-explain/9\", this page reads \"evsim-explain/1\""},
    {"steps an object",
     "{\"format\": \"evsim-explain/1\", \"cpu_hz\": 1, \"end_cycles\": 1, \"domains\": [],"
     " \"initial\": {\"domains\": []}, \"steps\": {}, \"vcpus\": []}",
     "\"steps\" must be array, not object"},
    {"initial without domains",
     "{\"format\": \"evsim-explain/1\", \"cpu_hz\": 1, \"end_cycles\": 1, \"domains\": [],"
     " \"initial\": {}, \"steps\": [], \"vcpus\": []}",
     "\"initial\" has no \"domains\" array"},
    {"a step not an object",
     "{\"format\": \"evsim-explain/1\", \"cpu_hz\": 1, \"end_cycles\": 1, \"domains\": [],"
     " \"initial\": {\"domains\": []}, \"steps\": [{}, 3], \"vcpus\": []}",
     "steps[1] is not an object"},
    {"changes not an array",
     "{\"format\": \"evsim-explain/1\", \"cpu_hz\": 1, \"end_cycles\": 1, \"domains\": [],"
     " \"initial\": {\"domains\": []}, \"steps\": [{\"changes\": 1}], \"vcpus\": []}",
     "steps[0].changes is not an array"},
};

static void test_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
        struct json_object *doc = json_tokener_parse(check_cases[i].json);
        assert_non_null(doc);
        struct diag d = {{0}};
        int rc = teach_html_check(doc, &d);
        if (!check_cases[i].message) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, -1);
            if (!strstr(d.msg, check_cases[i].message))
                fail_msg("case %s: message \"%s\" lacks \"%s\"", check_cases[i].name, d.msg,
                         check_cases[i].message);
        }
        json_object_put(doc);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A folder of its own for one test's files. */
static char *scratch_dir(void)
{
    char *dir = strdup("/tmp/evsim-teach-html.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The JSON between the data block's tags. */
static struct json_object *embedded_doc(const char *page, char **text_out)
{
    const char *open = "<script type=\"application/json\" id=\"evsim-data\">";
    const char *start = strstr(page, open);
    assert_non_null(start);
    start += strlen(open);
    const char *end = strstr(start, "</script>");
    assert_non_null(end);
    *text_out = strndup(start, (size_t)(end - start));
    return json_tokener_parse(*text_out);
}

static void test_page_is_self_contained(void **state)
{
    (void)state;
    char *dir = scratch_dir(), *out = path_in(dir, "page.html");
    struct json_object *doc = json_tokener_parse(GOOD_DOC);
    struct diag d = {{0}};
    assert_int_equal(teach_html_write(out, doc, &d), 0);
    char *page = slurp(out);
    /* Nothing loaded from elsewhere: the three tags that do so in the source tree are gone. */
    assert_null(strstr(page, "href=\"page.css\""));
    assert_null(strstr(page, "src="));
    assert_null(strstr(page, "<link"));
    assert_int_equal(count(page, "id=\"evsim-data\""), 1);
    assert_int_equal(count(page, "<style>"), 1);
    /* The document comes back whole, and holds no "<" that could end its block. */
    char *text;
    struct json_object *back = embedded_doc(page, &text);
    assert_non_null(back);
    assert_null(strchr(text, '<'));
    assert_true(json_object_equal(doc, back));
    assert_int_equal(files_in(dir), 1);
    json_object_put(back);
    free(text);
    free(page);
    unlink(out);
    rmdir(dir);
    json_object_put(doc);
    free(out);
    free(dir);
}

static void test_same_bytes_every_time(void **state)
{
    (void)state;
    char *dir = scratch_dir(), *a = path_in(dir, "a.html"), *b = path_in(dir, "b.html");
    struct json_object *doc = json_tokener_parse(GOOD_DOC);
    struct diag d = {{0}};
    assert_int_equal(teach_html_write(a, doc, &d), 0);
    assert_int_equal(teach_html_write(b, doc, &d), 0);
    char *pa = slurp(a), *pb = slurp(b);
    assert_string_equal(pa, pb);
    free(pa);
    free(pb);
    unlink(a);
    unlink(b);
    rmdir(dir);
    json_object_put(doc);
    free(a);
    free(b);
    free(dir);
}

/* A refused document, or a folder that does not exist: -1, a message naming --html and the
 * path, and no file (not even a temporary one). */
static void test_refusals_leave_nothing(void **state)
{
    (void)state;
    char *dir = scratch_dir(), *out = path_in(dir, "page.html");
    struct json_object *bad = json_tokener_parse("{\"format\": \"evsim-explain/1\"}");
    struct diag d = {{0}};
    assert_int_equal(teach_html_write(out, bad, &d), -1);
    assert_non_null(strstr(d.msg, "--html "));
    assert_non_null(strstr(d.msg, "explain document: no \"cpu_hz\""));
    assert_int_equal(files_in(dir), 0);

    char *nowhere = path_in(dir, "missing/page.html");
    struct json_object *good = json_tokener_parse(GOOD_DOC);
    assert_int_equal(teach_html_write(nowhere, good, &d), -1);
    assert_non_null(strstr(d.msg, "cannot create the file"));
    assert_non_null(strstr(d.msg, nowhere));
    assert_int_equal(files_in(dir), 0);
    json_object_put(bad);
    json_object_put(good);
    rmdir(dir);
    free(nowhere);
    free(out);
    free(dir);
}

/* The compiled-in page: its script and stylesheet cannot end their own blocks early, and the
 * template holds each tag the writer replaces exactly once. */
static void test_embedded_parts(void **state)
{
    (void)state;
    assert_null(strstr(teach_page_js, "</script"));
    assert_null(strstr(teach_page_js, "<!--"));
    assert_null(strstr(teach_page_js, "<script"));
    assert_null(strstr(teach_page_css, "</style"));
    assert_int_equal(count(teach_page_html, "<link rel=\"stylesheet\" href=\"page.css\">"), 1);
    assert_int_equal(
        count(teach_page_html, "<script type=\"application/json\" id=\"evsim-data\"></script>"), 1);
    assert_int_equal(count(teach_page_html, "<script src=\"page.js\"></script>"), 1);
}

/* The compiled-in files are the source files, byte for byte (the embedding escapes \\, " and ?
 * and splits lines: none of it may change what the browser gets). */
static void test_embedded_as_written(void **state)
{
    (void)state;
    static const struct {
        const char *file, *compiled;
    } parts[] = {
        {EVSIM_TEACH_DIR "/page.html", teach_page_html},
        {EVSIM_TEACH_DIR "/page.css", teach_page_css},
        {EVSIM_TEACH_DIR "/page.js", teach_page_js},
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        char *text = slurp(parts[i].file);
        if (strcmp(text, parts[i].compiled) != 0)
            fail_msg("%s differs from its compiled-in copy", parts[i].file);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_page_is_self_contained),
        cmocka_unit_test(test_same_bytes_every_time),
        cmocka_unit_test(test_refusals_leave_nothing),
        cmocka_unit_test(test_embedded_parts),
        cmocka_unit_test(test_embedded_as_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
