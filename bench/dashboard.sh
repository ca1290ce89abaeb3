#!/usr/bin/env bash
# The dashboard's page times on this machine (see bench/dashboard_bench.py).
# Usage: bench/dashboard.sh          (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VERITY_BIN:-}" ]; then
  cargo build --release --quiet -p verity-cli
  export VERITY_BIN=target/release/verity
fi
export VERITY_MODELS_DIR="${VERITY_MODELS_DIR:-$PWD/models}"
exec python3 bench/dashboard_bench.py
