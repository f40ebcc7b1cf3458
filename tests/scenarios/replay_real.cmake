# `evsim replay` of a real host's recording: the scenario is run with --record, evsim's own
# records are taken out (tests/tools/xt_strip: what Xen's xentrace would have written), and the
# rest is replayed as a real recording. Checked in the replay's JSON (replay.real_recording):
# every vcpu played all its inferred steps, and each I/O address was accessed as often as
# recorded, every recorded access with its arc. With FASTER, accesses went to a device model in
# the run (a guest domain's): replay infers it (its ioreq server, its ports, its waits and
# notifications), every notification is sent, and each address's time from exit to wake is
# the recording's within 10 %; replayed again with --emulate-in-xen, Xen answers them: none may
# be slower and some must be faster. With DM (a device model built with evsim dm-cc) the replay
# is given it (--device-model), and the UART's accesses must have gone through it.
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

# check_replay(FILE MODE): MODE inferred (the recording's device model replayed), in_xen, dm or
# plain (no device model in the recording)
function(check_replay file mode)
  file(READ ${WORK_DIR}/${file} json)
  string(JSON vcpus GET "${json}" replay real_recording vcpus)
  string(JSON nv LENGTH "${vcpus}")
  math(EXPR last "${nv} - 1")
  foreach(i RANGE ${last})
    string(JSON steps GET "${vcpus}" ${i} steps)
    string(JSON played GET "${vcpus}" ${i} steps_played)
    string(JSON dom GET "${vcpus}" ${i} recorded_domain)
    string(JSON vcpu GET "${vcpus}" ${i} vcpu)
    if(NOT steps EQUAL played)
      message(FATAL_ERROR "${file}: d${dom}v${vcpu}: played ${played} of its ${steps} inferred steps")
    endif()
  endforeach()
  if(mode STREQUAL "inferred")
    string(JSON dms GET "${json}" replay real_recording inferred_device_models)
    string(JSON ndm LENGTH "${dms}")
    string(JSON inferred GET "${json}" replay real_recording notifications_inferred)
    string(JSON sent GET "${json}" replay real_recording notifications_sent)
    if(ndm EQUAL 0 OR NOT inferred EQUAL sent)
      message(FATAL_ERROR "${file}: ${ndm} device models inferred, ${sent} of their ${inferred} "
        "notifications sent")
    endif()
    string(JSON replayed GET "${dms}" 0 replayed)
    if(NOT replayed)
      message(FATAL_ERROR "${file}: the inferred device model was not replayed")
    endif()
  endif()

  string(JSON io GET "${json}" replay real_recording io)
  string(JSON np LENGTH "${io}")
  if(np EQUAL 0)
    message(FATAL_ERROR "${file}: no I/O address in the replay of a recording of HVM I/O")
  endif()
  math(EXPR last "${np} - 1")
  set(faster_ones 0)
  foreach(i RANGE ${last})
    foreach(k type address dir recorded recorded_mean_ns recorded_arc_unknown replayed
        replayed_mean_ns)
      string(JSON ${k} GET "${io}" ${i} ${k})
    endforeach()
    set(what "${file}: ${type} ${address} ${dir}")
    if(NOT recorded EQUAL replayed OR NOT recorded_arc_unknown EQUAL 0)
      message(FATAL_ERROR "${what}: recorded ${recorded} (+${recorded_arc_unknown} without an "
        "arc), replayed ${replayed}")
    endif()
    if(mode STREQUAL "in_xen" AND replayed_mean_ns GREATER recorded_mean_ns)
      message(FATAL_ERROR "${what}: answered in Xen in ${replayed_mean_ns} ns, in the recording "
        "in ${recorded_mean_ns} ns: Xen should not be slower")
    endif()
    if(mode STREQUAL "inferred")
      math(EXPR diff "${replayed_mean_ns} - ${recorded_mean_ns}")
      if(diff LESS 0)
        math(EXPR diff "0 - ${diff}")
      endif()
      if(diff GREATER 0 AND diff GREATER_EQUAL recorded_mean_ns / 10)
        message(FATAL_ERROR "${what}: ${replayed_mean_ns} ns through the inferred device model, "
          "${recorded_mean_ns} ns in the recording: more than 10 % apart")
      endif()
    endif()
    if(replayed_mean_ns LESS recorded_mean_ns)
      math(EXPR faster_ones "${faster_ones} + 1")
    endif()
    if(mode STREQUAL "dm" AND address EQUAL 1016 AND replayed_mean_ns LESS 3000)
      # the device model's wake alone (dm_wake_ns) is 3 us
      message(FATAL_ERROR "${what}: ${replayed_mean_ns} ns: not through the device model")
    endif()
  endforeach()
  if(mode STREQUAL "in_xen" AND NOT faster_ones GREATER 0)
    message(FATAL_ERROR "${file}: no access was faster answered in Xen than through the device "
      "model")
  endif()
endfunction()

if(DM)
  check_replay(replay.json dm)
elseif(FASTER)
  check_replay(replay.json inferred)
  evsim_step("evsim replay (real, --emulate-in-xen)" ${EVSIM} replay real.xt --cpu-hz ${HZ}
    --emulate-in-xen --json in_xen.json --no-report)
  check_replay(in_xen.json in_xen)
else()
  check_replay(replay.json plain)
endif()
