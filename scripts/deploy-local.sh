#!/usr/bin/env bash
# Deploys the Redis cluster (a master and three replicas) on local nodes, on a fresh Debian or
# Ubuntu machine, as root: installs what the nodes run, builds plumbery, deploys, then shows how to
# connect. Stop everything with:
#   target/release/plumbery --local fittings/redis-cluster.yaml dispose
#   target/release/plumbery emulator stop
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "deploy-local.sh: local nodes need root (namespaces, mounts): run it with sudo" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq openssh-server openssh-client redis-server redis-sentinel redis-tools chrony sudo python3 \
    iproute2 libssl-dev pkg-config >/dev/null
cargo build --release --quiet
target/release/plumbery --local fittings/redis-cluster.yaml deploy
target/release/plumbery --local fittings/redis-cluster.yaml information
