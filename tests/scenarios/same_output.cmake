# Runs evsim with ARGS plus each of EXTRA's variants ("|"-separated, each a space-separated list
# of arguments) and fails unless every output is identical: for results that must not depend on
# a setting (the quantum, the progress display).
string(REPLACE "|" ";" variants "${EXTRA}")
set(first "")
foreach(variant IN LISTS variants)
  separate_arguments(extra UNIX_COMMAND "${variant}")
  execute_process(COMMAND ${EVSIM} ${ARGS} ${extra}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "evsim ${ARGS} ${variant} exited ${rc}: ${err}")
  endif()
  if(first STREQUAL "")
    set(first "${variant}")
    set(want "${out}")
  elseif(NOT out STREQUAL want)
    message(FATAL_ERROR "output with '${variant}' differs from output with '${first}'")
  endif()
endforeach()
