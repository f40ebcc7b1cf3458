# A fixed, seeded number of fuzzing executions starting from the committed corpus. New inputs
# go to WORK (the corpus is read only); a crash, a sanitizer report or a leak fails the test and
# leaves the input in WORK (crash-*, leak-*), to become a regression seed.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${FUZZER} -runs=${RUNS} -seed=1 -max_len=${MAX_LEN} -artifact_prefix=${WORK}/
    ${WORK} ${CORPUS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} exited ${rc}:\n${err}")
endif()
