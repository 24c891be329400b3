#!/bin/sh
# Peak RSS of `credbulk enable --resume` over a report of 1M `duplicate` rows and one of 1M
# `invalid_input` rows (BENCHMARKS.md, "--resume over 1M duplicate or invalid_input rows").
# usage: benches/resume_memory.sh [BINARY]   (default target/debug/credbulk; needs GNU time)
set -eu
BIN=$(realpath "${1:-target/debug/credbulk}")
N=${CREDBULK_BENCH_RESUME_ROWS:-1000000}
WORK=$(mktemp -d)
trap 'kill "$SIM" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
H='line,id,outcome,http_status,api_code,message,attempts,elapsed_ms,finished_at,run_id'
T='2026-12-02T00:00:00.000Z'
{ echo id; seq 0 "$N" | sed 's/.*/1/'; } > dup.csv
{ echo "$H"; echo "2,1,enabled,200,,ok,1,1,$T,enable-r"
  seq 3 $((N + 2)) | awk -v t="$T" '{print $1 ",1,duplicate,,,repeat of line 2,0,0," t ",enable-r"}'; } > dup.report.csv
{ echo id; seq 1 "$N" | sed 's/.*/x/'; } > inv.csv
{ echo "$H"
  seq 2 $((N + 1)) | awk -v t="$T" '{print $1 ",x,invalid_input,,,not a positive whole number,0,0," t ",enable-r"}'; } > inv.report.csv
echo demo-secret > secret
"$BIN" sim --listen 127.0.0.1:0 --generate 1 > sim.out 2>/dev/null &
SIM=$!
while [ ! -s sim.out ]; do sleep 0.1; done
URL=$(head -1 sim.out | sed 's/listening on //')
for kind in dup inv; do
  code=0
  /usr/bin/time -v "$BIN" enable $kind.csv --report $kind.report.csv --resume --url "$URL" \
    --client-id demo --client-secret-file secret --no-progress -q 2> time.$kind.txt || code=$?
  echo "$kind: exit $code, $(grep -E 'Maximum resident' time.$kind.txt | sed 's/^[[:space:]]*//')"
done
