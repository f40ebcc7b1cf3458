# evsim lab check --json: the file holds the same result as the text (score, each check with
# pass, points, what was seen and the hint), and two runs with the same seed write the same
# bytes (cmake -P; tests/labs/CMakeLists.txt).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
foreach(run a b)
  execute_process(COMMAND ${EVSIM} lab check 2 ${SOLUTION} --seed 7 --json ${WORK_DIR}/${run}.json
    RESULT_VARIABLE status OUTPUT_FILE ${WORK_DIR}/${run}.txt)
  if(NOT status EQUAL 1)
    message(FATAL_ERROR "exit status ${status}, expected 1 (a check fails)")
  endif()
endforeach()
foreach(ext json txt)
  file(READ ${WORK_DIR}/a.${ext} a)
  file(READ ${WORK_DIR}/b.${ext} b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "two runs with seed 7 differ (${ext})")
  endif()
endforeach()
file(READ ${WORK_DIR}/a.json j)
string(JSON score GET "${j}" score)
string(JSON max GET "${j}" max)
string(JSON name GET "${j}" checks 1 name)
string(JSON pass GET "${j}" checks 1 pass)
string(JSON hint GET "${j}" checks 1 hint)
if(NOT max EQUAL 10 OR score GREATER_EQUAL 10 OR NOT name STREQUAL "every-event-handled"
   OR pass OR NOT hint MATCHES "xchg")
  message(FATAL_ERROR "unexpected JSON result: ${j}")
endif()
