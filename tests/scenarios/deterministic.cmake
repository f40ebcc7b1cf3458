# Two runs of SCENARIO with the same seed must write byte-identical JSON reports.
file(MAKE_DIRECTORY ${WORK_DIR})
foreach(i 1 2)
  execute_process(COMMAND ${EVSIM} run ${SCENARIO} --no-report --json ${WORK_DIR}/run${i}.json
    RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run ${i} exited ${rc}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/run1.json
  ${WORK_DIR}/run2.json RESULT_VARIABLE differ)
if(differ)
  message(FATAL_ERROR "the two JSON reports differ")
endif()
