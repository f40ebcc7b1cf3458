# evsim quiz: the same seed and options give byte-identical text and JSON on every ABI (a
# student can share a seed), and another seed gives another quiz. Variables: EVSIM, WORK_DIR.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(quiz_run out seed abi)
  execute_process(COMMAND ${EVSIM} quiz --seed ${seed} --abi ${abi} --answers
      --json ${WORK_DIR}/${out}.json
    OUTPUT_FILE ${WORK_DIR}/${out}.txt RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "evsim quiz --seed ${seed} --abi ${abi} exited ${rc}")
  endif()
endfunction()
function(same a b what)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/${a} ${WORK_DIR}/${b}
    RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "${what}: ${a} and ${b} differ")
  endif()
endfunction()
foreach(abi 2l 3l fifo)
  quiz_run(${abi}_a 2026 ${abi})
  quiz_run(${abi}_b 2026 ${abi})
  quiz_run(${abi}_other 2027 ${abi})
  same(${abi}_a.txt ${abi}_b.txt "the same seed printed another quiz")
  same(${abi}_a.json ${abi}_b.json "the same seed wrote other JSON")
  # Beyond the first line (which names the seed), the scripts differ.
  file(STRINGS ${WORK_DIR}/${abi}_a.txt a_lines REGEX "^ +[0-9]+\\. ")
  file(STRINGS ${WORK_DIR}/${abi}_other.txt other_lines REGEX "^ +[0-9]+\\. ")
  if(a_lines STREQUAL other_lines)
    message(FATAL_ERROR "seeds 2026 and 2027 gave the same script on ${abi}")
  endif()
endforeach()
