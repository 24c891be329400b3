#!/usr/bin/env bash
# Builds the container image (Containerfile: FROM scratch, the static executable, the public CAs,
# user 10001) without a daemon, with buildah, then runs `credbulk --version` and `credbulk demo`
# in it as that user.
#
#   dist/image.sh                      # image localhost/credbulk:<version>
#   IMAGE=registry.example.com/credbulk:0.1.0 dist/image.sh
#
# Uses dist/out/credbulk-<version>-x86_64-linux (running dist/build.sh first if it is missing)
# and the CA bundle of this machine (/etc/ssl/certs/ca-certificates.crt, Debian's
# ca-certificates). Needs root and buildah (installed with apt-get if missing); the vfs storage
# driver and chroot isolation work without a daemon, overlay mounts or user namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
bin=dist/out/credbulk-$version-x86_64-linux
image=${IMAGE:-localhost/credbulk:$version}
cas=/etc/ssl/certs/ca-certificates.crt

command -v buildah >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y buildah)
# Always: an existing file of the same version may hold older code; cargo skips unchanged work.
dist/build.sh
[[ -s $cas ]] || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ca-certificates)
buildah() { command buildah --storage-driver vfs "$@"; }

context=$(mktemp -d)
container=
cleanup() {
  if [[ -n $container ]]; then buildah rm "$container" >/dev/null || true; fi
  rm -rf "$context"
}
trap cleanup EXIT

cp "$bin" "$context/credbulk"
cp "$cas" "$context/ca-certificates.crt"
echo 'credbulk:x:10001:10001:credbulk:/home/credbulk:/sbin/nologin' >"$context/passwd"
echo 'credbulk:x:10001:' >"$context/group"
mkdir "$context/home"
cp Containerfile "$context/"

previous=$(buildah images --quiet "$image" 2>/dev/null || true)
buildah bud --isolation chroot --layers=false -f Containerfile -t "$image" "$context"
# The image this name pointed to before is garbage now: do not let every CI run add 13 MB.
if [[ -n $previous && $previous != "$(buildah images --quiet "$image")" ]]; then
  buildah rmi "$previous" >/dev/null || true
fi

container=$(buildah from "$image")
run() { buildah run --isolation chroot "$container" -- "$@"; }
got=$(run credbulk --version)
[[ $got == "credbulk $version" ]] || { echo "image: --version said: $got" >&2; exit 1; }
run credbulk demo --no-progress
# The demo wrote its report in the working directory, as the image's user.
mnt=$(buildah mount "$container")
owner=$(stat -c %u "$mnt/home/credbulk/credbulk-demo.report.csv")
buildah umount "$container" >/dev/null
[[ $owner == 10001 ]] || { echo "image: the demo report belongs to uid $owner, not 10001" >&2; exit 1; }
size=$(buildah images --format '{{.Size}}' "$image")
echo "image: $image ($size) built; credbulk --version and demo ran in it as uid 10001"
