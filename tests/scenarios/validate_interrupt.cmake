# SIGINT stops evsim validate between comparisons: exit 130 and the rows that finished, then a
# line saying how many (the signal comes at 0.4 s, well after start-up on a loaded machine).
# The whole command takes under a second here, so a fast machine may finish first: then it
# must have printed the whole table and exited 0.
execute_process(COMMAND ${TIMEOUT} --foreground --preserve-status -s INT 0.4 ${EVSIM} validate
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 130)
  if(NOT out MATCHES "\\(interrupted: [0-9]+ of [0-9]+ comparisons finished\\)\n$")
    message(FATAL_ERROR "interrupted, but the output does not say so:\n${out}")
  endif()
elseif(rc EQUAL 0)
  if(NOT out MATCHES "docs/ioreq.md has their stages\\).\n$")
    message(FATAL_ERROR "finished, but the table is not whole:\n${out}")
  endif()
else()
  message(FATAL_ERROR "exit ${rc}: ${err}")
endif()
