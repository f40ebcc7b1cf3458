# SIGINT stops evsim bench abi-scaling between points: exit 130, results.json (marked partial)
# holds the points that finished and none that failed, and neither plots nor the page are
# written from a partial study.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${TIMEOUT} --foreground --preserve-status -s INT 3 ${EVSIM} bench abi-scaling
    --no-progress --out ${WORK_DIR} --doc ${WORK_DIR}/abi-scaling.md
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 130)
  message(FATAL_ERROR "exit ${rc}, expected 130: ${err}")
endif()
file(READ ${WORK_DIR}/results.json json)
string(JSON partial GET ${json} partial)
string(JSON n LENGTH ${json} points)
if(NOT partial)
  message(FATAL_ERROR "results.json: partial ${partial}, ${n} points")
endif()
if(json MATCHES "\"ok\": false")
  message(FATAL_ERROR "results.json keeps a point the signal cut short")
endif()
if(EXISTS ${WORK_DIR}/abi-scaling.md OR EXISTS ${WORK_DIR}/plots.gp)
  message(FATAL_ERROR "a partial study wrote its page or its plots")
endif()
