# `evsim replay` of a real host's recording: the scenario is run with --record, evsim's own
# records are taken out (tests/tools/xt_strip: what Xen's xentrace would have written), and the
# rest is replayed as a real recording. Checked in the replay's JSON (replay.real_recording):
# every vcpu played all its inferred steps, and each I/O address was accessed as often as
# recorded, every recorded access with its arc. With FASTER, accesses went to a device model in
# the run (a guest domain's): replay infers it (its ioreq server, its ports, its waits and
# notifications), every notification is sent, and each address's time from exit to wake is
# the recording's within 10 %; replayed again with --emulate-in-xen, Xen answers them: none may
# be slower and some must be faster. With DM (a device model built with evsim dm-cc) the replay
# is given it (--device-model), and the UART's accesses must have gone through it. With SENDS
# (a recording of PV guests' event channels), every inferred send is made on an inferred
# channel, each vcpu ends within 2 % of its recorded end, and replayed under OTHER (flags) the
# last vcpu ends within 5 % of a run of the scenario under OTHER.
# Variables (-D): EVSIM, STRIP, SCENARIO, WORK_DIR, HZ, FASTER, DM, SENDS, OTHER.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/replay_real_steps.cmake)

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
# Whether a and b are more than `percent` % of b apart (in *out: ON or OFF).
function(apart out a b percent)
  math(EXPR diff "${a} - ${b}")
  if(diff LESS 0)
    math(EXPR diff "0 - ${diff}")
  endif()
  math(EXPR limit "${b} * ${percent} / 100")
  if(diff GREATER limit)
    set(${out} ON PARENT_SCOPE)
  else()
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()

function(check_replay file mode)
  file(READ ${WORK_DIR}/${file} json)
  check_steps(${file} "${json}")
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
      apart(far ${replayed_mean_ns} ${recorded_mean_ns} 10)
      if(far)
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

# A recording of PV guests' sends: the vcpus' ends, recorded and replayed (the latest in *last),
# within `percent` of each other, or the latest within `percent` of `run_ns`.
function(check_sends file percent run_ns)
  file(READ ${WORK_DIR}/${file} json)
  string(JSON inferred GET "${json}" replay real_recording sends_inferred)
  string(JSON made GET "${json}" replay real_recording sends_made)
  if(inferred EQUAL 0 OR NOT made EQUAL inferred)
    message(FATAL_ERROR "${file}: ${made} of ${inferred} inferred sends made")
  endif()
  check_steps(${file} "${json}")
  string(JSON vcpus GET "${json}" replay real_recording vcpus)
  string(JSON nv LENGTH "${vcpus}")
  math(EXPR last "${nv} - 1")
  set(latest 0)
  foreach(i RANGE ${last})
    string(JSON rec GET "${vcpus}" ${i} recorded_end_ns)
    string(JSON rep GET "${vcpus}" ${i} replayed_end_ns)
    if(rep GREATER latest)
      set(latest ${rep})
    endif()
    if(run_ns EQUAL 0)
      apart(far ${rep} ${rec} ${percent})
      if(far)
        message(FATAL_ERROR "${file}: vcpu ${i} ends at ${rep} ns, recorded ${rec} ns")
      endif()
    endif()
  endforeach()
  if(NOT run_ns EQUAL 0)
    apart(far ${latest} ${run_ns} ${percent})
    if(far)
      message(FATAL_ERROR "${file}: the replay's last vcpu ends at ${latest} ns, a run under "
        "${OTHER} at ${run_ns} ns: more than ${percent} % apart")
    endif()
  endif()
endfunction()

if(SENDS)
  check_sends(replay.json 2 0)
  evsim_step("evsim run (other)" ${EVSIM} run ${SCENARIO} ${OTHER} --json run_other.json
    --no-report)
  evsim_step("evsim replay (real, other)" ${EVSIM} replay real.xt --cpu-hz ${HZ} ${OTHER}
    --json other.json --no-report)
  file(READ ${WORK_DIR}/run_other.json run)
  string(JSON run_ns GET "${run}" simulated_ns)
  check_sends(other.json 5 ${run_ns})
elseif(DM)
  check_replay(replay.json dm)
elseif(FASTER)
  check_replay(replay.json inferred)
  evsim_step("evsim replay (real, --emulate-in-xen)" ${EVSIM} replay real.xt --cpu-hz ${HZ}
    --emulate-in-xen --json in_xen.json --no-report)
  check_replay(in_xen.json in_xen)
else()
  check_replay(replay.json plain)
endif()
