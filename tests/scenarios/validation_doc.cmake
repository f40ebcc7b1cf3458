# docs/validation.md must be exactly the page `evsim validate --markdown` prints: every number in
# it, table and text, comes from the simulations.
execute_process(COMMAND ${EVSIM} validate --markdown RESULT_VARIABLE rc OUTPUT_VARIABLE page)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "evsim validate exited ${rc}")
endif()
file(READ ${DOC} doc)
if(NOT doc STREQUAL page)
  file(WRITE ${WORK}/validation.actual.md "${page}")
  execute_process(COMMAND diff -u ${DOC} ${WORK}/validation.actual.md)
  message(FATAL_ERROR "docs/validation.md is not what `evsim validate --markdown` prints (the "
    "page is in ${WORK}/validation.actual.md; write it with evsim validate --markdown > "
    "docs/validation.md)")
endif()
