#!/usr/bin/env bash
# Builds the executable operators copy to a jump host: x86_64 Linux, fully static (glibc linked
# in, no program interpreter, so it starts on any x86_64 Linux from 3.17 on, RHEL 8 and Ubuntu
# 20.04 included), stripped, with name resolution in Rust (the `hickory-dns` feature: a static
# glibc cannot load the NSS modules getaddrinfo needs) and randomness from the getrandom system
# call only (`linux_raw`: the default backend looks the libc wrapper up with dlsym, which a
# static executable cannot, and would then need /dev/urandom).
#
#   dist/build.sh      # writes dist/out/credbulk-<version>-x86_64-linux and its .sha256
#
# dist/check-static.sh checks what it wrote; dist/image.sh puts it in a container image.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
target_dir=${CARGO_TARGET_DIR:-target}

rustup target list --installed | grep -qx "$target" || rustup target add "$target"

# With --target, RUSTFLAGS reach only the target's code, never build scripts or proc macros.
RUSTFLAGS='-C target-feature=+crt-static --cfg getrandom_backend="linux_raw"' \
  cargo build --locked --profile dist --target "$target" --features hickory-dns

name=credbulk-$version-x86_64-linux
mkdir -p dist/out
cp "$target_dir/$target/dist/credbulk" "dist/out/$name"
(cd dist/out && sha256sum "$name" >"$name.sha256")
echo "dist/out/$name ($(stat -c %s "dist/out/$name") bytes)"
