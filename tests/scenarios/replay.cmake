# `evsim replay` against running the guests: the scenario is run with --record; the recording
# replayed under the same configuration must agree with the run (counts equal, latencies and
# the simulated time within 1 %: replay_compare 0), and replayed under OTHER flags it must agree
# within 5 % with a run of the guests under those flags (replay_compare 5). The replay is also
# deterministic: two replays write the same report.
# Variables (-D): EVSIM, COMPARE, SCENARIO, WORK_DIR, OTHER (flags, ;-separated; may be empty),
# STATUS (the exit status of the run and of its replays, when a guest crashes: default 0).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)
if(NOT STATUS)
  set(STATUS 0)
endif()

evsim_step_status("evsim run --record" ${STATUS} ${EVSIM} run ${SCENARIO} --record rec.xt --json run.json
  --no-report)
evsim_step_status("evsim replay" ${STATUS} ${EVSIM} replay rec.xt --json replay.json --no-report)
evsim_step_status("evsim replay (again)" ${STATUS} ${EVSIM} replay rec.xt --json replay2.json --no-report)
file(SHA256 ${WORK_DIR}/replay.json a)
file(SHA256 ${WORK_DIR}/replay2.json b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "two replays of the same recording differ: replay must be deterministic")
endif()
evsim_step("replay_compare (same configuration)" ${COMPARE} run.json replay.json 0)

if(OTHER)
  evsim_step_status("evsim run ${OTHER}" ${STATUS} ${EVSIM} run ${SCENARIO} ${OTHER} --json other_run.json
    --no-report)
  evsim_step_status("evsim replay ${OTHER}" ${STATUS} ${EVSIM} replay rec.xt ${OTHER} --json other_replay.json
    --no-report)
  evsim_step("replay_compare (${OTHER})" ${COMPARE} other_run.json other_replay.json 5)
endif()
