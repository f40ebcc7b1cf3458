# evsim run and evsim engine on Unicorn 2.0.1: exit 2, nothing run, a message naming each
# failed capability.
if(NOT EXISTS ${LIBDIR}/libunicorn.so.2)
  message(FATAL_ERROR "Debian 12's Unicorn 2.0.1 is not unpacked in ${LIBDIR}: scripts/test.sh "
    "fetches it (it needs the Debian mirror once)")
endif()
set(ENV{LD_LIBRARY_PATH} ${LIBDIR})
execute_process(COMMAND ${EVSIM} run RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT out STREQUAL "")
  message(FATAL_ERROR "evsim run on 2.0.1: exit ${rc}, stdout '${out}', stderr '${err}'")
endif()
foreach(want "cannot run on Unicorn 2.0.1" "version older than 2.1.1" "guest paging is ignored"
    "guest stores take the slow path")
  string(FIND "${err}" "${want}" at)
  if(at LESS 0)
    message(FATAL_ERROR "evsim run on 2.0.1: '${want}' missing from: ${err}")
  endif()
endforeach()
execute_process(COMMAND ${EVSIM} engine RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 2 OR NOT out MATCHES "paging         IGNORED")
  message(FATAL_ERROR "evsim engine on 2.0.1: exit ${rc}: ${out}")
endif()
