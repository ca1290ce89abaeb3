#!/usr/bin/env bash
# Side by side: Verity's face engine and face_recognition (dlib), the most-used open-source
# peer, on the same pairs, from one run. Prints both systems' accuracy and per-pair time, and
# the time ratio.
#
#   bench/faces-vs-face_recognition.sh [PAIRS.csv] [ROOT]
#
# Defaults to the 600 LFW pairs in ../shared/data. Installs face_recognition in its own
# virtualenv (bench/.venv-fr) from the package registry: dlib-bin (a prebuilt dlib wheel),
# face-recognition-models 0.3.0 (dlib's model files) and face_recognition 1.3.0 without its
# source-build dlib dependency. Both run single-process on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-../shared/data/faces/pairs.csv}"
ROOT="${2:-../shared/data}"
VENV=bench/.venv-fr

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import face_recognition' 2>/dev/null; then
  echo "[bench] creating $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check dlib-bin==20.0.1.post1 face-recognition-models==0.3.0 numpy pillow click setuptools
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps face-recognition==1.3.0
fi

scripts/setup
export VERITY_MODELS_DIR="${VERITY_MODELS_DIR:-$PWD/models}"

echo "[bench] verity eval faces on $PAIRS" >&2
V=$(target/release/verity eval faces --pairs "$PAIRS" --root "$ROOT" | tr -d '\n')
echo "[bench] face_recognition on $PAIRS" >&2
F=$("$VENV/bin/python" bench/face_recognition_peer.py "$PAIRS" "$ROOT")

python3 - "$V" "$F" <<'PY'
import json, sys
v, f = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'system':<18}{'pairs':>7}{'accuracy':>10}{'no face':>9}{'ms/pair p50':>13}{'ms/pair mean':>14}")
print(f"{'verity':<18}{v['pairs']:>7}{v['accuracy']:>10.4f}{v['fail_to_detect']:>9}{v['ms_per_pair_p50']:>13.1f}{v['ms_per_pair_mean']:>14.1f}")
print(f"{'face_recognition':<18}{f['pairs']:>7}{f['accuracy']:>10.4f}{f['fail_to_detect']:>9}{f['ms_per_pair_p50']:>13.1f}{f['ms_per_pair_mean']:>14.1f}")
ratio = f['ms_per_pair_mean'] / v['ms_per_pair_mean']
print(f"time ratio (face_recognition / verity, mean per pair): {ratio:.2f}x")
print(json.dumps({"verity": v, "face_recognition": f, "time_ratio": round(ratio, 3)}))
PY
