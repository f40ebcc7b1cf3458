# evsim bench trace --quick: both runs complete, the recording is read back and replayed, the
# pingpong point is run and replayed, and results.json and the page say what was measured; the
# scratch recordings are gone afterwards.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${EVSIM} bench trace --quick --no-progress --out ${WORK_DIR}
    --doc ${WORK_DIR}/page.md
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "evsim bench trace --quick exited ${rc}: ${err}")
endif()
file(READ ${WORK_DIR}/results.json json)
foreach(key run_seconds_plain run_seconds_recording recording_bytes recording_records
    read_seconds read_peak_rss_kb half_read_peak_rss_kb replay_seconds replay_steps
    run_total_seconds run_peak_rss_kb replay_total_seconds replay_load_seconds
    replay_peak_rss_kb replay_speedup_total)
  string(JSON v GET ${json} ${key})
  if(NOT v GREATER 0)
    message(FATAL_ERROR "results.json: ${key} is ${v}")
  endif()
endforeach()
# the event-dense point (pingpong): recorded, run and replayed end to end
foreach(key recording_records recording_bytes run_total_seconds run_peak_rss_kb
    replay_total_seconds replay_load_seconds replay_play_seconds replay_peak_rss_kb replay_steps
    replay_speedup_total)
  string(JSON v GET ${json} event_dense ${key})
  if(NOT v GREATER 0)
    message(FATAL_ERROR "results.json: event_dense.${key} is ${v}")
  endif()
endforeach()
# every bundled scenario recorded, run and replayed (the one that ends in a crash is not)
string(JSON n LENGTH ${json} scenarios)
if(n LESS 20)
  message(FATAL_ERROR "results.json: ${n} scenarios measured")
endif()
set(measured 0)
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON name GET ${json} scenarios ${i} name)
  string(JSON speedup ERROR_VARIABLE skipped GET ${json} scenarios ${i} replay_speedup_total)
  if(skipped)
    continue()
  endif()
  foreach(key run_total_seconds replay_total_seconds run_process_seconds replay_process_seconds)
    string(JSON v GET ${json} scenarios ${i} ${key})
    if(NOT v GREATER 0)
      message(FATAL_ERROR "results.json: scenario ${name}: ${key} is ${v}")
    endif()
  endforeach()
  math(EXPR measured "${measured} + 1")
endforeach()
if(measured LESS 20)
  message(FATAL_ERROR "results.json: only ${measured} scenarios were run and replayed")
endif()
file(READ ${WORK_DIR}/page.md page)
if(NOT page MATCHES "Replay against run, scenario by scenario" OR
    NOT page MATCHES "\\| pingpong \\| [0-9]+ \\| [0-9.]+ ms")
  message(FATAL_ERROR "the page lacks the scenarios' table:\n${page}")
endif()
if(NOT page MATCHES "cost of recording \\| [-+][0-9]" OR NOT page MATCHES "not measured" OR
    NOT page MATCHES "\\| pingpong, [0-9]+ rounds \\| [0-9]+ \\| [0-9.]+ s \\| [0-9.]+ s")
  message(FATAL_ERROR "the page lacks the measurements:\n${page}")
endif()
file(GLOB left ${WORK_DIR}/*.xt ${WORK_DIR}/*.partial)
if(left)
  message(FATAL_ERROR "scratch recordings left behind: ${left}")
endif()
