#!/usr/bin/env bash
# The API server's targets, measured on this machine (see bench/api_bench.py).
# Usage: bench/api.sh            (release build; installs wrk from Debian if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -z "${VERITY_BIN:-}" ]; then
  cargo build --release --quiet -p verity-cli
  export VERITY_BIN=target/release/verity
fi
export VERITY_MODELS_DIR="${VERITY_MODELS_DIR:-$PWD/models}"
exec python3 bench/api_bench.py
