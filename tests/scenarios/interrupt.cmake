# SIGINT or SIGTERM stops a run cleanly: exit 128 + the signal, the text report says the run was
# interrupted, and the --json file is written whole and marked partial. TIMEOUT (coreutils; in
# --foreground mode it signals evsim once, as one Ctrl-C does, not also its process group)
# sends the signal after three seconds of host time (the run itself would take minutes).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${TIMEOUT} --foreground --preserve-status -s ${SIGNAL} 3 ${EVSIM} run ${SCENARIO}
    --json ${WORK_DIR}/partial.json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL ${EXPECT})
  message(FATAL_ERROR "exit ${rc}, expected ${EXPECT}: ${err}")
endif()
if(NOT out MATCHES "ended          interrupted by the user")
  message(FATAL_ERROR "the report does not say the run was interrupted:\n${out}")
endif()
file(READ ${WORK_DIR}/partial.json json)
string(JSON partial GET ${json} partial)
string(JSON status GET ${json} exit_status)
if(NOT partial OR NOT status EQUAL ${EXPECT})
  message(FATAL_ERROR "partial.json: partial ${partial}, exit_status ${status}")
endif()
