# Runs CMD (a ;-list) and fails unless it exits with EXPECT; its output is shown on failure.
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "${EXPECT}")
  message(FATAL_ERROR "exit status ${rc}, expected ${EXPECT}\n${out}\n${err}")
endif()
