# evsim_step(WHAT COMMAND...): runs COMMAND in WORK_DIR and stops the test, with its output,
# unless it exits 0. Included by the scenario scripts that chain several runs.
function(evsim_step what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} exited ${rc}:\n${out}\n${err}")
  endif()
endfunction()

# evsim_step_status(WHAT STATUS COMMAND...): the same, for a command that must exit STATUS.
function(evsim_step_status what status)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL status)
    message(FATAL_ERROR "${what} exited ${rc}, expected ${status}:\n${out}\n${err}")
  endif()
endfunction()
