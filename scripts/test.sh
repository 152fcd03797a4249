#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine, as root: installs what the tests need
# (local nodes run the real sshd, redis-server and chrony), then formatting, the shape rules, lints
# and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq openssh-server openssh-client redis-server redis-sentinel redis-tools chrony sudo python3 \
        iproute2 libssl-dev pkg-config >/dev/null
fi
cargo fmt --all --check
# The shape rules of the workspace: no import circle inside a crate, no function over 120 lines.
python3 scripts/shape.py crates/* .
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --no-fail-fast 2>&1
