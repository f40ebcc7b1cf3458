# Runs SCENARIO, whose guests/timer vcpu must take all its TICKS ticks, each late by at most
# MAX_LATE_NS (its "tick N at ... late by L ns" lines). Variables (-D): EVSIM, SCENARIO, TICKS,
# MAX_LATE_NS.
execute_process(COMMAND ${EVSIM} run ${SCENARIO} --no-report
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "evsim exited ${rc}:\n${err}")
endif()
string(REGEX MATCHALL "tick [0-9]+ at [0-9]+ ns, interval [0-9]+ ns, late by [0-9]+ ns" ticks
  "${out}")
list(LENGTH ticks n)
if(NOT n EQUAL TICKS)
  message(FATAL_ERROR "${n} ticks taken, expected ${TICKS}:\n${out}")
endif()
foreach(t IN LISTS ticks)
  string(REGEX REPLACE ".*late by ([0-9]+) ns" "\\1" late "${t}")
  if(late GREATER MAX_LATE_NS)
    message(FATAL_ERROR "late by ${late} ns (at most ${MAX_LATE_NS}): ${t}\n${out}")
  endif()
endforeach()
