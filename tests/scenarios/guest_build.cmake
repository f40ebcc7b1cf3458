# `evsim guest build` builds a bundled guest as guests/ does: the guest it builds runs exactly as
# the bundled one (the same console, cycle counts included), and a file that does not compile is
# refused with the compiler's messages and no file left.
# Variables (-D): EVSIM, SOURCE_DIR, WORK_DIR.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)

evsim_step("evsim guest build" ${EVSIM} guest build ${SOURCE_DIR}/guests/timer.c -o timer.elf)
execute_process(COMMAND ${EVSIM} run --guest ${WORK_DIR}/timer.elf --cmdline ticks=3 --no-report
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc1 OUTPUT_VARIABLE built)
execute_process(COMMAND ${EVSIM} run --guest timer --cmdline ticks=3 --no-report
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc2 OUTPUT_VARIABLE bundled)
if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0 OR NOT built STREQUAL bundled)
  message(FATAL_ERROR "the guest evsim guest build made runs otherwise than the bundled one "
    "(exit ${rc1}, ${rc2}):\n${built}\n---\n${bundled}")
endif()

file(WRITE ${WORK_DIR}/broken.c "int main(void) { return undeclared; }\n")
execute_process(COMMAND ${EVSIM} guest build broken.c -o broken.elf WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "broken.c does not build as a guest program:.*undeclared"
   OR EXISTS ${WORK_DIR}/broken.elf)
  message(FATAL_ERROR "a file that does not compile: exit ${rc}, ${err}")
endif()
