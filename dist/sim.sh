# Sourced by dist/check-static.sh, benches/binaries.sh and benches/peers.sh: `credbulk sim` in the
# background on a free loopback port. The sourcing script sets $work (a scratch folder) and calls
# sim_stop when it exits.
sim_pid=

# sim_start BINARY IDS: a fresh simulator holding IDS generated ids; sets url
# (http://127.0.0.1:PORT), left empty if it did not say where it listens within 10 s (its
# stderr is in $work/sim.err). Sets globals: call it directly, not in $(...).
sim_start() {
  sim_stop
  "$1" sim --listen 127.0.0.1:0 --generate "$2" >"$work/sim.out" 2>"$work/sim.err" &
  sim_pid=$!
  for _ in $(seq 1 200); do
    [[ -s $work/sim.out ]] && break
    sleep 0.05
  done
  url=$(sed -n 's|^listening on ||p' "$work/sim.out" | head -1)
}

sim_stop() {
  if [[ -n $sim_pid ]]; then kill -INT "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  sim_pid=
}
