#!/usr/bin/env bash
# MRZ reading side by side: Verity and PassportEye (PyPI, with Debian's Tesseract) on the same
# images, in one run. Prints both systems' exact-MRZ rate and time per image, and the ratio.
#
#   bench/documents-vs-passporteye.sh [GROUND_TRUTH.json ROOT]
#
# Default: ../shared/data/documents (45 images). Any ground truth in the same format works,
# e.g. one written by `verity document synth`. Installs tesseract-ocr (Debian) and
# passporteye==2.2.2 in bench/.venv-pe on first use; builds Verity in release.
set -euo pipefail
cd "$(dirname "$0")/.."
GT="${1:-../shared/data/documents/ground_truth.json}"
ROOT="${2:-../shared/data}"
command -v tesseract >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null
}
VENV=bench/.venv-pe
if ! "$VENV/bin/python" -c "import passporteye" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check passporteye==2.2.2
fi
if [ -z "${VERITY_BIN:-}" ]; then
  cargo build --release --quiet -p verity-cli
  VERITY_BIN=target/release/verity
fi
export VERITY_MODELS_DIR="${VERITY_MODELS_DIR:-$PWD/models}"
VERITY_JSON="$("$VERITY_BIN" eval documents --ground-truth "$GT" --root "$ROOT" 2>/dev/null | tail -1)"
"$VENV/bin/python" - "$GT" "$ROOT" "$VERITY_JSON" <<'PY'
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from passporteye import read_mrz

gt_path, root, verity = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
docs = json.load(open(gt_path))["documents"]
with_mrz = exact = found = false_valid = 0
times = []
for d in docs:
    path = f"{root}/{d['file']}"
    t = time.perf_counter()
    try:
        mrz = read_mrz(path)
    except Exception as e:  # PassportEye raises on some inputs
        mrz = None
    times.append(time.perf_counter() - t)
    truth = d.get("mrz_lines") or []
    if not d.get("mrz_present", bool(truth)):
        continue
    with_mrz += 1
    lines = mrz.aux.get("text", "").split("\n") if mrz is not None else []
    lines = [l.strip() for l in lines if l.strip()]
    if mrz is not None:
        found += 1
    if lines == truth:
        exact += 1
    elif mrz is not None and mrz.valid:
        false_valid += 1
pe = {
    "mrz_exact_rate": round(exact / max(with_mrz, 1), 4),
    "mrz_found_rate": round(found / max(with_mrz, 1), 4),
    "false_valid": false_valid,
    "ms_mean": round(1000 * sum(times) / max(len(times), 1), 1),
}
v = {k: verity[k] for k in ("mrz_exact_rate", "mrz_found_rate", "false_valid", "ms_mean")}
print(f"images: {len(docs)} ({with_mrz} with an MRZ)")
print(f"Verity:      exact {v['mrz_exact_rate']:.1%}, found {v['mrz_found_rate']:.1%}, false valid {v['false_valid']}, {v['ms_mean']:.0f} ms/image")
print(f"PassportEye: exact {pe['mrz_exact_rate']:.1%}, found {pe['mrz_found_rate']:.1%}, false valid {pe['false_valid']}, {pe['ms_mean']:.0f} ms/image")
print(f"Verity is {pe['ms_mean'] / max(v['ms_mean'], 1e-9):.2f}x PassportEye's speed")
print(json.dumps({"images": len(docs), "verity": v, "passporteye": pe}))
PY
