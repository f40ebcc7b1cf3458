# Fails if FILE exists: a rejected run must leave no output behind.
if(EXISTS ${FILE})
  message(FATAL_ERROR "${FILE} exists: a run rejected for bad input wrote output")
endif()
