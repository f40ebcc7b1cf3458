# `evsim replay` of a real host's recording: the scenario is run with --record, evsim's own
# records are taken out (tests/tools/xt_strip: what Xen's xentrace would have written), and the
# rest is replayed as a real recording. Checked in the replay's JSON (replay.real_recording):
# every vcpu played all its inferred steps, and each I/O address was accessed as often as
# recorded, every recorded access with its arc. With FASTER, accesses went to a device model in
# the run: answered in Xen (the replay has none), none may be slower and some must be faster.
# With DM (a device model built with evsim dm-cc) the replay is given it (--device-model), and
# the UART's accesses must have gone through it.
# Variables (-D): EVSIM, STRIP, SCENARIO, WORK_DIR, HZ, FASTER, DM.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)

evsim_step("evsim run --record" ${EVSIM} run ${SCENARIO} --record rec.xt --no-report)
evsim_step("xt_strip" ${STRIP} rec.xt real.xt)
set(dm_flags "")
if(DM)
  set(dm_flags --device-model ${DM})
endif()
evsim_step("evsim replay (real)" ${EVSIM} replay real.xt --cpu-hz ${HZ} ${dm_flags}
  --json replay.json --no-report)
evsim_step("evsim replay (real, again)" ${EVSIM} replay real.xt --cpu-hz ${HZ} ${dm_flags}
  --json again.json --no-report)
file(SHA256 ${WORK_DIR}/replay.json a)
file(SHA256 ${WORK_DIR}/again.json b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "two replays of the same real recording differ")
endif()

file(READ ${WORK_DIR}/replay.json json)
string(JSON vcpus GET "${json}" replay real_recording vcpus)
string(JSON nv LENGTH "${vcpus}")
math(EXPR last "${nv} - 1")
foreach(i RANGE ${last})
  string(JSON steps GET "${vcpus}" ${i} steps)
  string(JSON played GET "${vcpus}" ${i} steps_played)
  string(JSON dom GET "${vcpus}" ${i} recorded_domain)
  string(JSON vcpu GET "${vcpus}" ${i} vcpu)
  if(NOT steps EQUAL played)
    message(FATAL_ERROR "d${dom}v${vcpu}: played ${played} of its ${steps} inferred steps")
  endif()
endforeach()

string(JSON io GET "${json}" replay real_recording io)
string(JSON np LENGTH "${io}")
if(np EQUAL 0)
  message(FATAL_ERROR "no I/O address in the replay of a recording of HVM I/O")
endif()
math(EXPR last "${np} - 1")
set(faster_ones 0)
foreach(i RANGE ${last})
  foreach(k type address dir recorded recorded_mean_ns recorded_arc_unknown replayed
      replayed_mean_ns)
    string(JSON ${k} GET "${io}" ${i} ${k})
  endforeach()
  set(what "${type} ${address} ${dir}")
  if(NOT recorded EQUAL replayed OR NOT recorded_arc_unknown EQUAL 0)
    message(FATAL_ERROR "${what}: recorded ${recorded} (+${recorded_arc_unknown} without an arc), "
      "replayed ${replayed}")
  endif()
  if(FASTER AND replayed_mean_ns GREATER recorded_mean_ns)
    message(FATAL_ERROR "${what}: answered in Xen in ${replayed_mean_ns} ns, in the recording in "
      "${recorded_mean_ns} ns: Xen should not be slower")
  endif()
  if(replayed_mean_ns LESS recorded_mean_ns)
    math(EXPR faster_ones "${faster_ones} + 1")
  endif()
endforeach()
if(DM)
  # the device model's wake alone (dm_wake_ns) is 3 us: the UART's accesses went through it
  foreach(i RANGE ${last})
    string(JSON address GET "${io}" ${i} address)
    string(JSON replayed_mean_ns GET "${io}" ${i} replayed_mean_ns)
    if(address EQUAL 1016 AND replayed_mean_ns LESS 3000)
      message(FATAL_ERROR "port 0x3f8: ${replayed_mean_ns} ns: not through the device model")
    endif()
  endforeach()
endif()
if(FASTER AND NOT faster_ones GREATER 0)
  message(FATAL_ERROR "no access was faster answered in Xen than through the device model")
endif()
