# Run `evsim lab ARGS` and check its exit status and output (cmake -P; tests/labs/CMakeLists.txt).
#   -DEVSIM=path -DARGS=a;b;c -DEXPECT_STATUS=n -DEXPECT=regex;regex...
# Each regex must match the output (stdout and stderr), read with the checker's wrapped lines
# joined back, so that a hint is matched whole.
execute_process(COMMAND ${EVSIM} lab ${ARGS}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX REPLACE "\n +" " " flat "${out}${err}")
if(NOT status STREQUAL EXPECT_STATUS)
  message(FATAL_ERROR "evsim lab ${ARGS}: exit status ${status}, expected ${EXPECT_STATUS}\n${out}${err}")
endif()
foreach(want IN LISTS EXPECT)
  if(NOT flat MATCHES "${want}")
    message(FATAL_ERROR "evsim lab ${ARGS}: no match for '${want}' in:\n${out}${err}")
  endif()
endforeach()
