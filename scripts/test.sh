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
        iproute2 libssl-dev pkg-config python3-venv >/dev/null
fi
# Ansible reads plumbery's inventory in the tests (ansible-inventory, ansible -m ping); about 20 s
# from PyPI. Without it those parts of the tests are skipped with a message.
if [ ! -x /opt/plumbery-ansible/bin/ansible-inventory ]; then
    python3 -m venv /opt/plumbery-ansible && /opt/plumbery-ansible/bin/pip install -q ansible-core \
        || echo "ansible-core could not be installed: the tests that use Ansible skip that part"
fi
export PATH="$PATH:/opt/plumbery-ansible/bin"
cargo fmt --all --check
# The shape rules of the workspace: no import circle inside a crate, no function over 100 lines.
python3 scripts/shape.py crates/* .
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --no-fail-fast 2>&1
