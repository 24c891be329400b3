#!/usr/bin/env bash
# The same job done the ways people do it today, on the same simulator and the same ids:
# credbulk, `xargs -P 16 curl`, GNU `parallel` and Newman with a CSV data file. Prints wall time,
# ids per second and CPU time per 1,000 ids (user + system of every process the tool started;
# the simulator runs apart and is not counted). Tools that are not installed are skipped.
#
#   bash benches/peers.sh                 # 2,000 ids, 16 at a time
#   IDS=10000 JOBS=16 bash benches/peers.sh
#
# Newman is looked for in $NEWMAN, on PATH, then in ./node_modules/.bin (`npm install --no-save newman`;
# node_modules is not committed). Everything talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

IDS=${IDS:-2000}
JOBS=${JOBS:-16}
BIN=${CREDBULK:-target/release/credbulk}
if [[ ! -x $BIN ]]; then
  cargo build --release --locked
fi

work=$(mktemp -d)
source dist/sim.sh
trap 'sim_stop; rm -rf "$work"' EXIT

seq 1 "$IDS" >"$work/ids.txt"
{ echo id; cat "$work/ids.txt"; } >"$work/ids.csv"
echo demo-secret >"$work/secret"

# A fresh simulator per tool, so that every tool's PUTs are first enables (200s).
start_sim() {
  sim_start "$BIN" "$IDS"
  token=$(curl -sf -d "grant_type=client_credentials&client_id=demo&client_secret=demo-secret" \
    "$url/iso/oauth2/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  # curl reads the header from a file: the token stays out of `ps`.
  printf 'Authorization: Bearer %s\n' "$token" >"$work/auth.header"
}

# Runs "$@" under bash's `time` and prints one result line; the simulator's stats confirm
# that every id got its 200.
measure() {
  local name=$1
  shift
  local TIMEFORMAT='%R %U %S' times
  times=$({ time "$@" >/dev/null 2>"$work/err"; } 2>&1) || {
    echo "  $name: failed: $(tail -3 "$work/err")"
    return
  }
  read -r real user sys <<<"$times"
  local ok
  ok=$(curl -sf "$url/_sim/stats" | grep -o '"PUT /api/pam/credential":{[^}]*}' | grep -o '"200":[0-9]*' | cut -d: -f2)
  awk -v n="$name" -v ids="$IDS" -v r="$real" -v u="$user" -v s="$sys" -v ok="${ok:-0}" 'BEGIN {
    printf "  %-34s %7.2f s wall %9.0f ids/s %9.1f ms CPU per 1,000 ids   (%d of %d answered 200)\n",
      n, r, ids / r, (u + s) * 1e6 / ids, ok, ids }'
}

cat >"$work/collection.json" <<'JSON'
{
  "info": { "name": "enable credentials", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json" },
  "item": [{
    "name": "enable",
    "request": {
      "method": "PUT",
      "header": [
        { "key": "Authorization", "value": "Bearer {{token}}" },
        { "key": "Accept", "value": "application/json" }
      ],
      "url": "{{base}}/api/pam/credential/{{id}}"
    }
  }]
}
JSON

newman=${NEWMAN:-$(command -v newman || true)}
if [[ -z $newman && -x node_modules/.bin/newman ]]; then newman=node_modules/.bin/newman; fi

echo "peers: $IDS ids, $JOBS in flight where the tool allows it; $(nproc) cores"

start_sim
measure "credbulk --concurrency $JOBS" "$BIN" enable "$work/ids.csv" --url "$url" \
  --client-id demo --client-secret-file "$work/secret" --report "$work/credbulk.report.csv" \
  --concurrency "$JOBS" --rate 1000000 --burst "$JOBS" --no-progress -q

start_sim
measure "xargs -P $JOBS curl" \
  sh -c 'xargs -P "$1" -I{} curl -s -o /dev/null -w "{} %{http_code}\n" -X PUT -H @"$2/auth.header" -H "Content-Length: 0" "$3/api/pam/credential/{}" <"$2/ids.txt" >"$2/xargs.log"' \
  sh "$JOBS" "$work" "$url"

if command -v parallel >/dev/null; then
  start_sim
  measure "GNU parallel -j $JOBS curl" \
    sh -c 'parallel --will-cite -q -j "$1" curl -s -o /dev/null -w "{} %{http_code}\n" -X PUT -H @"$2/auth.header" -H "Content-Length: 0" "$3/api/pam/credential/{}" :::: "$2/ids.txt" >"$2/parallel.log"' \
    sh "$JOBS" "$work" "$url"
else
  echo "  GNU parallel: not installed, skipped (apt-get install parallel)"
fi

if [[ -n $newman ]]; then
  start_sim
  # The token is the simulator's throwaway one; with a real appliance keep it out of argv.
  measure "newman -d ids.csv (sequential)" "$newman" run "$work/collection.json" \
    -d "$work/ids.csv" --env-var "base=$url" --env-var "token=$token" --silent
else
  echo "  newman: not installed, skipped (npm install --no-save newman)"
fi
