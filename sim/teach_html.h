/* The teaching page (`evsim run --html OUT.html`): one self-contained HTML file that steps
 * through a run. The page itself is sim/teach/page.{html,css,js}, compiled in by
 * sim/embed_teach_page.cmake; the writer inlines the CSS, the JavaScript and the explain
 * document ("evsim-explain/1", docs/teaching.md) into it, so the file needs no server, no
 * network and no other file. */
#ifndef EVSIM_SIM_TEACH_HTML_H
#define EVSIM_SIM_TEACH_HTML_H

#include <json-c/json.h>

#include "sim/diag.h"

/* The page's files as compiled in (generated teach_page.c). */
extern const char teach_page_html[];
extern const char teach_page_css[];
extern const char teach_page_js[];

/* The format this page reads. */
#define TEACH_EXPLAIN_FORMAT "evsim-explain/1"

/* 0 when doc has the explain document's shape (format, domains, initial, steps, vcpus), else
 * -1 with a message in d naming the first member that is wrong. */
int teach_html_check(struct json_object *doc, struct diag *d);

/* Write the page with doc embedded to path: through a temporary file in the same folder that
 * is renamed into place, so that a failure leaves no file behind. 0, or -1 with a message in d
 * (naming --html and path). Same doc, same bytes. */
int teach_html_write(const char *path, struct json_object *doc, struct diag *d);
/* The same for a document already written as JSON text (evsim's own: not checked again). */
int teach_html_write_text(const char *path, const char *json, struct diag *d);

#endif
