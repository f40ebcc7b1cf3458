# A recording whose guests made HVM I/O: evsim replay says it cannot replay it yet, naming the
# file's offset and the vcpu, exits 2 and writes nothing.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${EVSIM} run ${SCENARIO} --record rec.xt --no-report
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "evsim run --record exited ${rc}")
endif()
execute_process(COMMAND ${EVSIM} replay rec.xt --json out.json WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "evsim replay exited ${rc}, expected 2:\n${out}\n${err}")
endif()
if(NOT err MATCHES "rec.xt: offset [0-9]+: d[0-9]+v[0-9]+ made HVM port or MMIO I/O")
  message(FATAL_ERROR "unexpected message:\n${err}")
endif()
if(EXISTS ${WORK_DIR}/out.json OR NOT out STREQUAL "")
  message(FATAL_ERROR "evsim replay wrote something for a recording it refused")
endif()
