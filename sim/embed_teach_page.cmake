# Writes OUT, a C file holding the teaching page's three files (PAGE_DIR/page.html, page.css,
# page.js) as strings: the page is part of the binary, the files stay its only source. Each
# file becomes one string literal, a line at a time; \ " and ? are escaped (? so that no "??x"
# in the JavaScript can be read as a trigraph under -std=c11).
function(evsim_c_string file out_var)
  file(READ ${file} text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "?" "\\?" text "${text}")
  string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
  set(${out_var} "    \"${text}\"" PARENT_SCOPE)
endfunction()

evsim_c_string(${PAGE_DIR}/page.html html)
evsim_c_string(${PAGE_DIR}/page.css css)
evsim_c_string(${PAGE_DIR}/page.js js)
file(WRITE ${OUT}.tmp "/* Generated from sim/teach/page.{html,css,js} by sim/embed_teach_page.cmake: do not edit. */
#include \"sim/teach_html.h\"

const char teach_page_html[] =
${html};
const char teach_page_css[] =
${css};
const char teach_page_js[] =
${js};
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
