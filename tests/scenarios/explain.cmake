# The teaching mode's narration of one scenario (docs/teaching.md): `evsim run --explain-json`
# must write a document the step-through page can use (explain_check: changes consistent with
# the initial state, events raised before they are consumed, runstates in order), the same
# bytes twice (deterministic), and leave the run itself unchanged (its report is the report of
# the run without narration, byte for byte).
# Variables (-D): EVSIM, CHECK, SCENARIO, WORK_DIR, MIN_STEPS, FLAGS (the run's, ;-separated, may
# be empty), NARRATE (what to narrate: --from, --limit, --domain, --port; may be empty).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)

evsim_step("evsim run" ${EVSIM} run ${SCENARIO} ${FLAGS} --json plain.json --no-report)
evsim_step("evsim run --explain-json" ${EVSIM} run ${SCENARIO} ${FLAGS} --json narrated.json
  --explain-json a.json ${NARRATE} --no-report)
evsim_step("evsim run --explain-json (again)" ${EVSIM} run ${SCENARIO} ${FLAGS}
  --explain-json b.json ${NARRATE} --no-report)
foreach(pair "plain.json;narrated.json;narrating changed the run's report"
    "a.json;b.json;two narrations of the same run differ")
  list(GET pair 0 x)
  list(GET pair 1 y)
  list(GET pair 2 why)
  file(SHA256 ${WORK_DIR}/${x} hx)
  file(SHA256 ${WORK_DIR}/${y} hy)
  if(NOT hx STREQUAL hy)
    message(FATAL_ERROR "${why} (${x} against ${y})")
  endif()
endforeach()
evsim_step("explain_check" ${CHECK} a.json ${MIN_STEPS})
