# The evsim program loads each large library when a command first needs it (sim/lazy_libs.c):
# `evsim trace summary` loads neither SystemC nor Unicorn nor Capstone, a replay loads the SystemC
# kernel but no engine, a run all three. The dynamic loader says what it loads (LD_DEBUG=files).
function(loaded_by what out)
  set(ENV{LD_DEBUG} files)
  execute_process(COMMAND ${EVSIM} ${ARGN} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  unset(ENV{LD_DEBUG})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what}: exit ${rc}: ${err}")
  endif()
  set(libs "")
  foreach(lib libsystemc libevsim-kernel libunicorn libcapstone)
    if(err MATCHES "file=[^ ]*${lib}[^ ]*  *\\[0\\]; *(needed|dynamically loaded)")
      list(APPEND libs ${lib})
    endif()
  endforeach()
  set(${out} "${libs}" PARENT_SCOPE)
endfunction()

function(expect what want)
  loaded_by("${what}" got ${ARGN})
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "${what} loaded '${got}', expected '${want}'")
  endif()
endfunction()

expect("evsim trace summary" "" trace summary ${RECORDING})
expect("evsim replay" "libsystemc;libevsim-kernel" replay ${RECORDING} --no-report)
expect("evsim run" "libsystemc;libevsim-kernel;libunicorn;libcapstone" run ${SCENARIO} --no-report)
