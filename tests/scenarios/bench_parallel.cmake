# `evsim bench STUDY` with its points in parallel and on an engine of the user's: the quick
# study run serially (--jobs 1), with --jobs 2, and through GNU parallel (--plan | parallel,
# then --merge) must write the same data, results.json and gnuplot script, byte for byte.
# Skipped (exit 77) where GNU parallel is missing; scripts/test.sh installs it.
# Variables (-D): EVSIM, STUDY, FILES (;-separated), WORK_DIR, PARALLEL (may be empty).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)

evsim_step("--jobs 1" ${EVSIM} bench ${STUDY} --quick --no-progress --jobs 1 --out serial
  --doc -)
evsim_step("--jobs 2" ${EVSIM} bench ${STUDY} --quick --no-progress --jobs 2 --out jobs2 --doc -)
set(ways jobs2)
if(PARALLEL)
  execute_process(COMMAND ${EVSIM} bench ${STUDY} --quick --plan --out ${WORK_DIR}/parts
    OUTPUT_FILE ${WORK_DIR}/plan.txt RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "--plan exited ${rc}")
  endif()
  evsim_step("GNU parallel" ${PARALLEL} -j 2 --halt now,fail=1 -a ${WORK_DIR}/plan.txt)
  evsim_step("--merge" ${EVSIM} bench ${STUDY} --quick --no-progress --merge parts --out merged
    --doc -)
  list(APPEND ways merged)
endif()
foreach(way ${ways})
  foreach(f ${FILES})
    file(SHA256 ${WORK_DIR}/serial/${f} a)
    file(SHA256 ${WORK_DIR}/${way}/${f} b)
    if(NOT a STREQUAL b)
      message(FATAL_ERROR "${way}/${f} differs from the serial run's")
    endif()
  endforeach()
endforeach()
if(NOT PARALLEL)
  # ctest sees this line (SKIP_REGULAR_EXPRESSION): the --jobs run was compared all the same.
  message("SKIPPED: GNU parallel is not installed")
endif()
# Points of one plan merged as another's are refused, naming both.
if(PARALLEL)
  execute_process(COMMAND ${EVSIM} bench ${STUDY} --no-progress --merge parts --out wrong --doc -
    WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "of `bench ${STUDY} --quick` by evsim .*this merge expects")
    message(FATAL_ERROR "merging --quick points without --quick: exit ${rc}, ${err}")
  endif()
endif()
