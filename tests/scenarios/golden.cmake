# Runs one evsim command and compares it with golden files, in the style of SystemC's example
# tests, keeping behaviour and timing apart (timing_split.awk says which figures are timing):
#   NAME.out     stdout with every timing figure replaced by "~": behaviour
#   NAME.timing  the lines that held timing figures, verbatim (absent when there are none)
#   NAME.err     stderr, when that file exists
# and the exit status. Variables (-D): EVSIM (the binary), ARGS (;-list), NAME, GOLDEN_DIR,
# WORK_DIR, BUILD_DIR, EXPECT_STATUS (default 0), AWK, TOOLCHAIN_NOTE, REPORT_CHECK, and
# BEHAVIOUR_ONLY (1: no NAME.timing; for a guest whose code the compiler's minor versions build
# differently, tests/guests/highbase).
#
# EVSIM_UPDATE_GOLDEN in the environment rewrites golden files instead of failing:
#   timing   only NAME.timing, and only if the behaviour is unchanged (a cost or timing-model
#            change); prints what moved and by how much
#   all (1)  every file (an intended change of behaviour too); prints what moved
if(NOT DEFINED EXPECT_STATUS)
  set(EXPECT_STATUS 0)
endif()
# A clean working directory, so that whatever is in it afterwards was written by this run.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
# Every run that should succeed also writes its JSON report, checked for the invariants of
# every report (tests/tools/report_check.c); it does not change stdout.
list(GET ARGS 0 command)
set(check_json "")
list(FIND ARGS --help asks_help)
if(command STREQUAL "run" AND NOT EXPECT_STATUS EQUAL 2 AND REPORT_CHECK AND asks_help EQUAL -1)
  set(check_json ${WORK_DIR}/../${NAME}.report.json)
  file(REMOVE ${check_json})
  list(APPEND ARGS --json ${check_json})
endif()
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

set(split_dir ${WORK_DIR}/../${NAME}.split)
file(REMOVE_RECURSE ${split_dir})
file(MAKE_DIRECTORY ${split_dir})
file(WRITE ${split_dir}/stdout "${out}")
execute_process(COMMAND ${AWK} -v timing=${split_dir}/timing
    -f ${CMAKE_CURRENT_LIST_DIR}/timing_split.awk ${split_dir}/stdout
  OUTPUT_FILE ${split_dir}/out RESULT_VARIABLE split_rc)
if(NOT split_rc EQUAL 0)
  message(FATAL_ERROR "timing_split.awk failed (${split_rc})")
endif()
if(NOT EXISTS ${split_dir}/timing)
  file(WRITE ${split_dir}/timing "")
endif()

set(golden_out ${GOLDEN_DIR}/${NAME}.out)
set(golden_timing ${GOLDEN_DIR}/${NAME}.timing)
set(golden_err ${GOLDEN_DIR}/${NAME}.err)
if(NOT EXISTS ${golden_timing})
  file(WRITE ${split_dir}/golden_timing "")
  set(golden_timing_read ${split_dir}/golden_timing)
else()
  set(golden_timing_read ${golden_timing})
endif()

file(READ ${split_dir}/out got_out)
file(READ ${split_dir}/timing got_timing)
set(want_out "")
if(EXISTS ${golden_out})
  file(READ ${golden_out} want_out)
endif()
file(READ ${golden_timing_read} want_timing)
if(BEHAVIOUR_ONLY)
  set(got_timing "")
  set(want_timing "")
endif()

function(timing_summary)
  execute_process(COMMAND ${AWK} -v name=${NAME} -f ${CMAKE_CURRENT_LIST_DIR}/timing_moved.awk
    ${golden_timing_read} ${split_dir}/timing OUTPUT_VARIABLE summary)
  string(STRIP "${summary}" summary)
  message(STATUS "${summary}")
endfunction()

set(update "$ENV{EVSIM_UPDATE_GOLDEN}")
if(update STREQUAL "1")
  set(update all)
endif()
if(update STREQUAL "all" OR (update STREQUAL "timing" AND got_out STREQUAL want_out))
  timing_summary()
  if(update STREQUAL "all")
    file(WRITE ${golden_out} "${got_out}")
    if(NOT "${err}" STREQUAL "" OR EXISTS ${golden_err})
      file(WRITE ${golden_err} "${err}")
    endif()
  endif()
  if(got_timing STREQUAL "")
    file(REMOVE ${golden_timing})
  else()
    file(WRITE ${golden_timing} "${got_timing}")
  endif()
  return()
endif()

if(NOT status STREQUAL "${EXPECT_STATUS}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECT_STATUS}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(check_json)
  execute_process(COMMAND ${REPORT_CHECK} ${check_json} RESULT_VARIABLE check_rc
    ERROR_VARIABLE check_err)
  if(NOT check_rc EQUAL 0)
    message(FATAL_ERROR "the report breaks invariants:\n${check_err}")
  endif()
endif()
if(NOT got_out STREQUAL want_out)
  execute_process(COMMAND diff -u ${golden_out} ${split_dir}/out)
  message(FATAL_ERROR "behaviour differs from ${golden_out}: not re-baselined by "
    "EVSIM_UPDATE_GOLDEN=timing; EVSIM_UPDATE_GOLDEN=all rewrites it if the change is intended."
    " ${TOOLCHAIN_NOTE}")
endif()
if(NOT got_timing STREQUAL want_timing)
  execute_process(COMMAND diff -u ${golden_timing_read} ${split_dir}/timing)
  timing_summary()
  message(FATAL_ERROR "timing differs from ${golden_timing} (behaviour is unchanged); "
    "EVSIM_UPDATE_GOLDEN=timing rewrites it and prints what moved. ${TOOLCHAIN_NOTE}")
endif()
if(EXISTS ${golden_err})
  file(READ ${golden_err} want_err)
  if(NOT err STREQUAL want_err)
    file(WRITE ${split_dir}/stderr "${err}")
    execute_process(COMMAND diff -u ${golden_err} ${split_dir}/stderr)
    message(FATAL_ERROR "stderr differs from ${golden_err}")
  endif()
endif()
