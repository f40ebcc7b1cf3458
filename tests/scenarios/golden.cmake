# Runs one evsim command and compares it with golden files, in the style of SystemC's example
# tests. Variables (-D): EVSIM (the binary), ARGS (;-list), NAME, GOLDEN_DIR, WORK_DIR,
# EXPECT_STATUS (default 0). Compared: stdout with NAME.out, stderr with NAME.err when that file
# exists, and the exit status. With EVSIM_UPDATE_GOLDEN=1 in the environment the golden files
# are rewritten instead.
if(NOT DEFINED EXPECT_STATUS)
  set(EXPECT_STATUS 0)
endif()
# A clean working directory, so that whatever is in it afterwards was written by this run.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${EVSIM} ${ARGS}
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
# Bad input writes nothing: no --json, --plot or other output, not even half of one.
if(EXPECT_STATUS EQUAL 2)
  file(GLOB written ${WORK_DIR}/*)
  if(written)
    message(FATAL_ERROR "exit ${status} for bad input, yet it wrote: ${written}")
  endif()
endif()
# Paths differ between checkouts: golden files say <SRC> and <BUILD>.
get_filename_component(src_root ${GOLDEN_DIR}/../../.. ABSOLUTE)
foreach(var out err)
  string(REPLACE "${WORK_DIR}" "<WORK>" ${var} "${${var}}")
  if(BUILD_DIR)
    string(REPLACE "${BUILD_DIR}" "<BUILD>" ${var} "${${var}}")
  endif()
  string(REPLACE "${src_root}" "<SRC>" ${var} "${${var}}")
endforeach()
set(golden_out ${GOLDEN_DIR}/${NAME}.out)
set(golden_err ${GOLDEN_DIR}/${NAME}.err)
if("$ENV{EVSIM_UPDATE_GOLDEN}" STREQUAL "1")
  file(WRITE ${golden_out} "${out}")
  if(NOT "${err}" STREQUAL "" OR EXISTS ${golden_err})
    file(WRITE ${golden_err} "${err}")
  endif()
  message(STATUS "updated ${golden_out}")
  return()
endif()
if(NOT status STREQUAL "${EXPECT_STATUS}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECT_STATUS}\nstdout:\n${out}\nstderr:\n${err}")
endif()
file(READ ${golden_out} want)
if(NOT out STREQUAL want)
  file(WRITE ${WORK_DIR}/${NAME}.actual.out "${out}")
  execute_process(COMMAND diff -u ${golden_out} ${WORK_DIR}/${NAME}.actual.out)
  message(FATAL_ERROR "stdout differs from ${golden_out} (EVSIM_UPDATE_GOLDEN=1 rewrites it)"
    " ${TOOLCHAIN_NOTE}")
endif()
if(EXISTS ${golden_err})
  file(READ ${golden_err} want_err)
  if(NOT err STREQUAL want_err)
    file(WRITE ${WORK_DIR}/${NAME}.actual.err "${err}")
    execute_process(COMMAND diff -u ${golden_err} ${WORK_DIR}/${NAME}.actual.err)
    message(FATAL_ERROR "stderr differs from ${golden_err}")
  endif()
endif()
