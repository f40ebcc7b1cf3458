# `evsim replay` of a hand-made real recording (tests/scenarios/real/*.txt, written with
# tests/tools/xt_text): what a real host may write that evsim's own runs do not (lost records, a
# request whose access is not recorded). Replayed twice, at 1 GHz (a cycle is a ns): the two
# JSON reports are identical, every vcpu played all its inferred steps (none waits for good),
# and each KEY=VALUE of EXPECT is the replay's (replay.real_recording.KEY).
# With REPORT_LINES (regular expressions separated by @@), each must match a line of the text
# report.
# Variables (-D): EVSIM, XT_TEXT, TEXT, WORK_DIR, EXPECT (KEY=VALUE,...), REPORT_LINES.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/replay_real_steps.cmake)

evsim_step("xt_text" ${XT_TEXT} ${TEXT} real.xt)
foreach(run replay again)
  evsim_step("evsim replay (${run})" ${EVSIM} replay real.xt --cpu-hz 1GHz --json ${run}.json
    --no-report)
endforeach()
file(SHA256 ${WORK_DIR}/replay.json a)
file(SHA256 ${WORK_DIR}/again.json b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "two replays of ${TEXT} differ")
endif()
file(READ ${WORK_DIR}/replay.json json)
check_steps(${TEXT} "${json}")
string(REPLACE "," ";" expect "${EXPECT}")
foreach(kv IN LISTS expect)
  string(REPLACE "=" ";" kv "${kv}")
  list(GET kv 0 key)
  list(GET kv 1 want)
  string(JSON got GET "${json}" replay real_recording ${key})
  if(NOT got EQUAL want)
    message(FATAL_ERROR "${TEXT}: ${key} is ${got}, expected ${want}")
  endif()
endforeach()
if(REPORT_LINES)
  execute_process(COMMAND ${EVSIM} replay real.xt --cpu-hz 1GHz WORKING_DIRECTORY ${WORK_DIR}
    OUTPUT_VARIABLE report RESULT_VARIABLE rc)
  string(REPLACE "@@" ";" lines "${REPORT_LINES}")
  foreach(line IN LISTS lines)
    if(NOT report MATCHES "\n${line}\n")
      message(FATAL_ERROR "${TEXT}: no report line matches '${line}':\n${report}")
    endif()
  endforeach()
endif()
