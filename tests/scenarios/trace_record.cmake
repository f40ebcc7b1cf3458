# `evsim run --record`: the recording of a scenario, read back. Runs the scenario twice with
# --record (the two files must be byte-identical: recordings are deterministic), then
# `evsim trace summary` and, with DUMP set, `evsim trace dump` on it, and compares them with
# NAME.summary and NAME.dump. Both follow the simulator's timing, so EVSIM_UPDATE_GOLDEN=timing
# (or all) rewrites them, as it does the scenario goldens' timing files.
# Variables (-D): EVSIM, SCENARIO, NAME, GOLDEN_DIR, WORK_DIR, DUMP (ON/OFF), TOOLCHAIN_NOTE,
# BEHAVIOUR_ONLY (1: the summary's I/O addresses and counts only, in NAME.io: for guests the
# compiler's minor versions build differently), XT_LOSE (see the end).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

foreach(copy a b)
  execute_process(COMMAND ${EVSIM} run ${SCENARIO} --record ${copy}.xt --no-report
    WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "evsim run --record exited ${rc}:\n${err}")
  endif()
  if(EXISTS ${WORK_DIR}/${copy}.xt.partial)
    message(FATAL_ERROR "the temporary ${copy}.xt.partial was left behind")
  endif()
endforeach()
file(SHA256 ${WORK_DIR}/a.xt sum_a)
file(SHA256 ${WORK_DIR}/b.xt sum_b)
if(NOT sum_a STREQUAL sum_b)
  message(FATAL_ERROR "two recordings of ${SCENARIO} differ: recordings must be deterministic")
endif()

set(views summary)
if(DUMP)
  list(APPEND views dump)
endif()
set(update "$ENV{EVSIM_UPDATE_GOLDEN}")
# got against the golden file (WHAT names it in a failure), or rewritten when asked to.
function(check_golden got golden what)
  if(update STREQUAL "timing" OR update STREQUAL "all" OR update STREQUAL "1")
    file(WRITE ${golden} "${got}")
    return()
  endif()
  file(READ ${golden} want)
  if(NOT got STREQUAL want)
    get_filename_component(base ${golden} NAME)
    file(WRITE ${WORK_DIR}/${base}.got "${got}")
    execute_process(COMMAND diff -u ${golden} ${WORK_DIR}/${base}.got)
    message(FATAL_ERROR "${what} differs from ${golden}; if the simulator's timing changed on "
      "purpose, EVSIM_UPDATE_GOLDEN=timing rewrites it. ${TOOLCHAIN_NOTE}")
  endif()
endfunction()

foreach(view IN LISTS views)
  execute_process(COMMAND ${EVSIM} trace ${view} a.xt WORKING_DIRECTORY ${WORK_DIR}
    RESULT_VARIABLE rc OUTPUT_VARIABLE got ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "evsim trace ${view} exited ${rc}:\n${err}")
  endif()
  set(golden ${GOLDEN_DIR}/${NAME}.${view})
  if(BEHAVIOUR_ONLY AND view STREQUAL "summary")
    # a guest the compiler's minor versions build differently: its I/O addresses and counts
    string(REGEX MATCHALL "\n +[0-9a-f]+:\\[[rw]\\] +[0-9]+" rows "${got}")
    string(REPLACE ";" "" got "${rows}\n")
    set(golden ${GOLDEN_DIR}/${NAME}.io)
  endif()
  check_golden("${got}" ${golden} "evsim trace ${view}")
endforeach()

# With XT_LOSE (tests/tools/xt_lose): the recording with six runs of records lost, as a busy
# host's xentrace loses them, summarised as xenalyze would (NAME.lost.summary; the same lines as
# xenalyze's: scripts/xenalyze-check.sh).
if(XT_LOSE)
  execute_process(COMMAND ${XT_LOSE} 1 6 a.xt lost.xt WORKING_DIRECTORY ${WORK_DIR}
    RESULT_VARIABLE rc ERROR_VARIABLE err)
  execute_process(COMMAND ${EVSIM} trace summary lost.xt WORKING_DIRECTORY ${WORK_DIR}
    RESULT_VARIABLE rc2 OUTPUT_VARIABLE got ERROR_VARIABLE err2)
  if(NOT rc EQUAL 0 OR NOT rc2 EQUAL 0)
    message(FATAL_ERROR "xt_lose exited ${rc} (${err}), evsim trace summary ${rc2} (${err2})")
  endif()
  if(NOT got MATCHES "records lost in [1-9]")
    message(FATAL_ERROR "the summary of lost.xt shows no lost records:\n${got}")
  endif()
  check_golden("${got}" ${GOLDEN_DIR}/${NAME}.lost.summary "evsim trace summary with lost records")
endif()
