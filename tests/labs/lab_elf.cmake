# evsim lab build FILE.c OUT.elf, then evsim lab check N OUT.elf: a guest image is run as it is
# and graded as the C file would be (cmake -P; tests/labs/CMakeLists.txt).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${EVSIM} lab build ${SOLUTION} ${WORK_DIR}/solution.elf
  RESULT_VARIABLE status ERROR_VARIABLE err)
if(NOT status EQUAL 0 OR NOT EXISTS ${WORK_DIR}/solution.elf)
  message(FATAL_ERROR "evsim lab build: exit status ${status}\n${err}")
endif()
execute_process(COMMAND ${EVSIM} lab check ${LAB} ${WORK_DIR}/solution.elf
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0 OR NOT out MATCHES "file solution.elf, seed 1" OR
   NOT out MATCHES "score 10/10: every check passed")
  message(FATAL_ERROR "evsim lab check ${LAB} solution.elf: exit status ${status}\n${out}${err}")
endif()
