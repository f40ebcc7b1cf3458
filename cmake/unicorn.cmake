# Unicorn 2.1.1 or later, checked for what evsim depends on before anything is built.
#
# Debian 12's libunicorn-dev is 2.0.1: it ignores guest paging and sends every guest store down a
# slow path (50-70 ns each instead of about 2). scripts/run.sh and scripts/test.sh fetch Debian
# 13's 2.1.1 into the build folder on Debian 12 and pass its pkg-config folder here.
set(EVSIM_UNICORN_PKG_CONFIG_DIR "" CACHE PATH
  "Folder holding the unicorn.pc of the Unicorn to build against (empty: the system's)")

set(_evsim_unicorn_help "evsim needs Unicorn 2.1.1 or later (Debian 13's libunicorn-dev). \
Debian 12's 2.0.1 ignores guest paging and sends every guest store down a slow path. \
scripts/run.sh and scripts/test.sh fetch Debian 13's package into the build folder on Debian 12 \
and configure with it; to do it by hand, unpack libunicorn2t64 and libunicorn-dev 2.1.1 and pass \
-DEVSIM_UNICORN_PKG_CONFIG_DIR=<the folder holding its unicorn.pc, with libdir/includedir \
pointing at the unpacked files>.")

if(EVSIM_UNICORN_PKG_CONFIG_DIR)
  if(NOT EXISTS ${EVSIM_UNICORN_PKG_CONFIG_DIR}/unicorn.pc)
    message(FATAL_ERROR "No unicorn.pc in EVSIM_UNICORN_PKG_CONFIG_DIR="
      "${EVSIM_UNICORN_PKG_CONFIG_DIR}. ${_evsim_unicorn_help}")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${EVSIM_UNICORN_PKG_CONFIG_DIR}:$ENV{PKG_CONFIG_PATH}")
endif()
# A change of folder must search again, not reuse the cached answer.
if(NOT "${EVSIM_UNICORN_PKG_CONFIG_DIR}" STREQUAL "${_EVSIM_UNICORN_CHECKED_DIR}")
  unset(__pkg_config_checked_UNICORN CACHE)
  unset(pkgcfg_lib_UNICORN_unicorn CACHE)
  unset(EVSIM_UNICORN_USABLE CACHE)
endif()
set(_EVSIM_UNICORN_CHECKED_DIR "${EVSIM_UNICORN_PKG_CONFIG_DIR}" CACHE INTERNAL "")

pkg_check_modules(UNICORN IMPORTED_TARGET unicorn)
if(NOT UNICORN_FOUND)
  message(FATAL_ERROR "Unicorn not found. ${_evsim_unicorn_help}")
endif()
if(UNICORN_VERSION VERSION_LESS 2.1.1)
  message(FATAL_ERROR "Unicorn ${UNICORN_VERSION} found in ${UNICORN_LIBDIR} is too old. "
    "${_evsim_unicorn_help}")
endif()

# The binaries find this library at run time through their rpath (CMake adds the build tree's).
# The check program runs before that machinery: give it the rpath by hand.
try_run(_evsim_uc_run _evsim_uc_compile
  ${CMAKE_BINARY_DIR}/engine_check
  ${PROJECT_SOURCE_DIR}/sim/engine_check.c
  COMPILE_DEFINITIONS -DENGINE_CHECK_MAIN -D_POSIX_C_SOURCE=200809L
  CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${PROJECT_SOURCE_DIR};${UNICORN_INCLUDE_DIRS}"
  LINK_OPTIONS "-Wl,-rpath,${UNICORN_LIBDIR}"
  LINK_LIBRARIES PkgConfig::UNICORN ${CMAKE_DL_LIBS}
  COMPILE_OUTPUT_VARIABLE _evsim_uc_compile_out
  RUN_OUTPUT_VARIABLE _evsim_uc_out)
if(NOT _evsim_uc_compile)
  message(FATAL_ERROR "Cannot build the Unicorn check against ${UNICORN_LIBDIR}:\n"
    "${_evsim_uc_compile_out}")
endif()
string(STRIP "${_evsim_uc_out}" _evsim_uc_out)
if(NOT _evsim_uc_run EQUAL 0)
  message(FATAL_ERROR "The Unicorn in ${UNICORN_LIBDIR} cannot run evsim:\n${_evsim_uc_out}\n"
    "${_evsim_unicorn_help}")
endif()
message(STATUS "Unicorn ${UNICORN_VERSION} from ${UNICORN_LIBDIR}: usable")
