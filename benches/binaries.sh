#!/usr/bin/env bash
# Size and speed of credbulk executables side by side (BENCHMARKS.md §6, the release profile):
# for each BINARY its size, then ROUNDS rounds in which every binary in turn enables IDS ids
# against a fresh simulator at zero latency (--concurrency 64, no effective rate limit). Prints
# per binary the median ids/s (wall) and the median CPU of the credbulk process per 1,000 ids
# (user + system, from /usr/bin/time); the simulator is a separate process, not counted. On a
# shared machine the CPU figure is the steadier one.
#
#   bash benches/binaries.sh BINARY...
#   IDS=50000 ROUNDS=5 bash benches/binaries.sh target/release/credbulk dist/out/credbulk-*-linux
#
# The simulator is the first binary's `credbulk sim`. Everything talks to 127.0.0.1 only.
set -euo pipefail
(($# > 0)) || { echo "usage: $0 BINARY..." >&2; exit 2; }
IDS=${IDS:-50000}
ROUNDS=${ROUNDS:-3}
[[ -x /usr/bin/time ]] || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y time)

work=$(mktemp -d)
source "$(dirname "$0")/../dist/sim.sh"
trap 'sim_stop; rm -rf "$work"' EXIT
seq 1 "$IDS" >"$work/ids.csv"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for bin in "$@"; do
  printf '%-60s %10d bytes\n' "$bin" "$(stat -Lc %s "$bin")"
done
for round in $(seq 1 "$ROUNDS"); do
  i=0
  for bin in "$@"; do
    sim_start "$1" "$IDS"
    rm -f "$work/ids.enable.report.csv"
    start=$EPOCHREALTIME
    SENHASEGURA_CLIENT_SECRET=demo-secret /usr/bin/time -f '%U %S' -o "$work/time" \
      "$bin" enable "$work/ids.csv" --url "$url" --client-id demo --no-config --no-progress -q \
      --concurrency 64 --rate 1000000 --burst 64 >/dev/null 2>"$work/err" ||
      { cat "$work/err"; exit 1; }
    end=$EPOCHREALTIME
    read -r user sys <"$work/time"
    rate=$(awk -v n="$IDS" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f", n / (e - s)}')
    cpu=$(awk -v n="$IDS" -v u="$user" -v s="$sys" 'BEGIN {printf "%.1f", (u + s) * 1e6 / n}')
    printf 'round %d  %-60s %7d ids/s  cpu/1k ids %6.1f ms\n' "$round" "$bin" "$rate" "$cpu"
    echo "$rate" >>"$work/rate.$i"
    echo "$cpu" >>"$work/cpu.$i"
    i=$((i + 1))
  done
done
i=0
for bin in "$@"; do
  printf 'median  %-60s %7d ids/s  cpu/1k ids %6.1f ms\n' "$bin" "$(median <"$work/rate.$i")" "$(median <"$work/cpu.$i")"
  i=$((i + 1))
done
