# evsim replay on broken real recordings: RUNS copies of RECORDING, each with a few bytes changed
# (tests/tools/xt_mutate, seeds 1 to RUNS), must each be replayed or refused (exit 0, 1 or 2),
# never crash or hang (ctest's timeout).
# Variables (-D): EVSIM, MUTATE, RECORDING, RUNS, WORK_DIR.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
foreach(seed RANGE 1 ${RUNS})
  execute_process(COMMAND ${MUTATE} ${seed} ${RECORDING} ${WORK_DIR}/m.xt RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "xt_mutate ${seed} exited ${rc}")
  endif()
  execute_process(COMMAND ${EVSIM} replay ${WORK_DIR}/m.xt --no-report --run-ms 200
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc MATCHES "^[012]$")
    message(FATAL_ERROR "seed ${seed}: evsim replay exited '${rc}':\n${err}")
  endif()
endforeach()
