# Runs evsim twice, with ARGS plus EXTRA_A and with ARGS plus EXTRA_B, and fails unless the two
# outputs are identical (for results that must not depend on a setting, such as the quantum when
# no vcpu can observe another mid-quantum).
foreach(side A B)
  execute_process(COMMAND ${EVSIM} ${ARGS} ${EXTRA_${side}}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out_${side} ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "evsim ${ARGS} ${EXTRA_${side}} exited ${rc}: ${err}")
  endif()
endforeach()
if(NOT out_A STREQUAL out_B)
  message(FATAL_ERROR "output with '${EXTRA_A}' differs from output with '${EXTRA_B}'")
endif()
