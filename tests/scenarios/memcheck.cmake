# One golden scenario run again under valgrind's memcheck (VALGRIND, a ;-list with its options):
# the same arguments (plus --json for a run that has none, so the JSON writer is checked too), in an empty
# folder of its own, expecting the golden's exit status. valgrind exits 9 on any memory error or
# definite leak. Variables (-D): VALGRIND, EVSIM, ARGS, WORK_DIR, EXPECT.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
list(GET ARGS 0 command)
list(FIND ARGS --help asks_help)
list(FIND ARGS --json has_json)
if(command STREQUAL "run" AND asks_help EQUAL -1 AND has_json EQUAL -1)
  list(APPEND ARGS --json ${WORK_DIR}/report.json)
endif()
execute_process(COMMAND ${VALGRIND} ${EVSIM} ${ARGS}
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "${EXPECT}")
  message(FATAL_ERROR "exit status ${rc}, expected ${EXPECT} (9: valgrind found an error)\n"
    "${err}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
