# The timeline of a scenario: `evsim run --timeline` must write the same JSON as
# `evsim trace export --chrome` on the run's recording, and it must pass chrome_check (the
# trace-event format Perfetto reads) with at least MIN_FLOWS send-to-upcall arrows.
# Variables (-D): EVSIM, CHECK, SCENARIO, WORK_DIR, MIN_FLOWS.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${EVSIM} run ${SCENARIO} --record run.xt --timeline direct.json
    --no-report WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "evsim run --timeline exited ${rc}:\n${err}")
endif()
execute_process(COMMAND ${EVSIM} trace export run.xt --chrome exported.json
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "evsim trace export exited ${rc}:\n${err}")
endif()
file(SHA256 ${WORK_DIR}/direct.json a)
file(SHA256 ${WORK_DIR}/exported.json b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "run --timeline and trace export give different timelines")
endif()
execute_process(COMMAND ${CHECK} ${WORK_DIR}/direct.json ${MIN_FLOWS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the timeline breaks the format: ${err}")
endif()
message(STATUS "${out}")
file(GLOB left ${WORK_DIR}/*.partial ${WORK_DIR}/direct.json.xt)
if(left)
  message(FATAL_ERROR "scratch files left behind: ${left}")
endif()
