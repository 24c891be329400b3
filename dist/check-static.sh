#!/usr/bin/env bash
# Checks the executable dist/build.sh wrote (issue 11 item 1), as root (chroot, mknod):
#   1. fully static: no program interpreter, no shared library, `ldd` agrees; stripped; at most
#      15 MB;
#   2. in an empty chroot holding only it, /etc/hosts, /etc/resolv.conf and /dev/urandom:
#      `demo` completes, and `enable` succeeds against a simulator (started outside, on
#      127.0.0.1) reached by a host name that only the chroot's /etc/hosts knows;
#   3. with the getrandom system call failing (strace injects ENOSYS), it refuses with one
#      error line and its hint and exit 2, not a panic.
#
#   dist/check-static.sh [BINARY]      # default: dist/out/credbulk-<version>-x86_64-linux
#
# Needs strace (installed with apt-get if missing) and root.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
bin=$(realpath "${1:-dist/out/credbulk-$version-x86_64-linux}")
max_bytes=15000000
host=pam.credbulk.test

command -v strace >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y strace)

fail() { echo "check-static: FAIL: $*" >&2; exit 1; }
ok() { echo "check-static: ok: $*"; }

work=$(mktemp -d)
source dist/sim.sh
trap 'sim_stop; rm -rf "$work"' EXIT

# 1. Static and small.
[[ -x $bin ]] || fail "$bin is missing: run dist/build.sh"
(cd "$(dirname "$bin")" && sha256sum -c --quiet "$(basename "$bin").sha256") || fail "checksum of $bin"
# Read each listing whole before grep: `readelf | grep -q` under pipefail could lose a match
# to SIGPIPE and pass a bad binary.
program_headers=$(readelf -l "$bin")
dynamic=$(readelf -d "$bin")
sections=$(readelf -S "$bin")
if grep -q 'INTERP' <<<"$program_headers"; then fail "$bin has a program interpreter"; fi
if grep -q '(NEEDED)' <<<"$dynamic"; then fail "$bin needs shared libraries"; fi
# A static PIE (what Rust links for +crt-static; its addresses are still randomized) is
# "statically linked" to ldd; a static non-PIE would be "not a dynamic executable". Either way:
# no loader, no library.
ldd_says=$(ldd "$bin" 2>&1 || true)
[[ $ldd_says == *"not a dynamic executable"* || $ldd_says == *"statically linked"* ]] || fail "ldd: $ldd_says"
size=$(stat -c %s "$bin")
((size <= max_bytes)) || fail "$size bytes > $max_bytes"
if grep -q '\.debug_\|\.symtab' <<<"$sections"; then fail "$bin is not stripped"; fi
ok "static (no PT_INTERP, no NEEDED, ldd: $(echo $ldd_says)), stripped, $size bytes"

# 2. An empty chroot: the binary, /etc/hosts, /etc/resolv.conf, /dev/urandom; /work to write in.
root=$work/root
mkdir -p "$root/etc" "$root/dev" "$root/work"
cp "$bin" "$root/credbulk"
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$host" >"$root/etc/hosts"
# A name server that is not there: every name the run needs must come from /etc/hosts.
printf 'nameserver 127.0.0.9\noptions timeout:1 attempts:1\n' >"$root/etc/resolv.conf"
mknod -m 444 "$root/dev/urandom" c 1 9
if getent hosts "$host" >/dev/null; then fail "$host resolves outside the chroot; pick another name"; fi

chroot "$root" /credbulk demo --no-progress --report /work/demo.report.csv >"$work/demo.out" 2>&1 ||
  { cat "$work/demo.out"; fail "demo in the chroot"; }
rows=$(($(wc -l <"$root/work/demo.report.csv") - 1))
((rows > 0)) || fail "the demo report has no rows"
ok "demo completed in the empty chroot ($rows report rows)"

ids=200
sim_start "$bin" "$ids"
addr=${url#http://}
[[ -n $addr ]] || { cat "$work/sim.err"; fail "the simulator did not start"; }
port=${addr##*:}
seq 1 "$ids" >"$root/work/ids.csv"
code=0
SENHASEGURA_CLIENT_SECRET=demo-secret chroot "$root" /credbulk enable /work/ids.csv \
  --url "http://$host:$port" --allow-http --client-id demo --no-config --no-progress \
  --rate 1000 --concurrency 8 >"$work/enable.out" 2>&1 || code=$?
((code == 0)) || { cat "$work/enable.out"; fail "enable against http://$host:$port exited $code"; }
enabled=$(grep -c ',enabled,' "$root/work/ids.enable.report.csv" || true)
((enabled == ids)) || fail "$enabled of $ids ids enabled"
ok "enable via http://$host:$port (a name only the chroot's /etc/hosts knows): $enabled ids enabled, exit 0"

# 3. No randomness: one error line, its hint, exit 2; never a panic.
code=0
strace -f -o /dev/null -e trace=getrandom -e inject=getrandom:error=ENOSYS \
  chroot "$root" /credbulk demo --no-progress --report /work/nornd.report.csv >"$work/nornd.out" 2>&1 || code=$?
((code == 2)) || { cat "$work/nornd.out"; fail "without getrandom: exit $code, want 2"; }
if grep -q 'panicked' "$work/nornd.out"; then cat "$work/nornd.out"; fail "without getrandom it panicked"; fi
[[ $(head -1 "$work/nornd.out") == "error: the operating system gives no random numbers"* ]] ||
  { cat "$work/nornd.out"; fail "without getrandom: not the documented error"; }
[[ $(sed -n 2p "$work/nornd.out") == "  hint: this static build"* && $(wc -l <"$work/nornd.out") -eq 2 ]] ||
  { cat "$work/nornd.out"; fail "without getrandom: want one error line and one hint line"; }
[[ ! -e $root/work/nornd.report.csv ]] || fail "without getrandom a report was written"
ok "getrandom failing (ENOSYS): $(head -1 "$work/nornd.out"), exit 2"
echo "check-static: all passed for $bin"
