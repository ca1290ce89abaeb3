"""Measures one-call verification against a real `verity serve` (see bench/verify.sh):
sync `POST /v1/identity/verify` with every check (ocr, face_match, liveness, fraud, duplicate) on a ~1 MP
document front (a specimen passport of the shared data, 1334x880) and a ~1 MP selfie
(1000x1000), one request at a time: wall-clock p50 / p90 over BENCH_VERIFICATIONS (default 30),
the decision, and the server's peak RSS.

Prints one line per figure and a final JSON line. Standard library only (plus ffmpeg).
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import verity_serve

BIN = os.environ.get("VERITY_BIN", "target/release/verity")
SHARED = os.environ.get("VERITY_SHARED_DIR", "../shared")
N = int(os.environ.get("BENCH_VERIFICATIONS", "30"))
work = tempfile.mkdtemp(prefix="verity-verify-bench-")
data = os.path.join(work, "data")


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True)


selfie = os.path.join(work, "selfie.jpg")
sh("ffmpeg", "-v", "error", "-y", "-i", f"{SHARED}/data/faces/lfw/Abdullah_Gul/Abdullah_Gul_0006.jpg",
   "-vf", "scale=1000:1000,noise=alls=6:allf=t", "-q:v", "3", selfie)
front = f"{SHARED}/data/documents/images/passporteye/tests_passport-td3.jpg"
b64 = lambda p: base64.b64encode(open(p, "rb").read()).decode()

server, url, key = verity_serve.start(BIN, data)

body = json.dumps({"document_front": b64(front), "selfie": b64(selfie), "document_type": "passport",
                   "country": "DE", "checks": ["ocr", "face_match", "liveness", "fraud", "duplicate"]}).encode()


def post():
    req = urllib.request.Request(url + "/v1/identity/verify", method="POST", data=body,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        v = json.loads(r.read())
        return (time.perf_counter() - t0) * 1000, r.status, v


post()  # warm-up: first use of every model session
lat, statuses = [], {}
for _ in range(N):
    ms, code, v = post()
    lat.append(ms)
    statuses[f"{code} {v['status']}"] = statuses.get(f"{code} {v['status']}", 0) + 1
lat.sort()
peak_rss_mb = verity_serve.stop(server)
results = {
    "verify_sync_ms_p50": round(lat[len(lat) // 2]),
    "verify_sync_ms_p90": round(lat[int(len(lat) * 0.9) - 1]),
    "answers": statuses,
    "serve_peak_rss_mb": peak_rss_mb,
}
print(f"[bench] sync verification, all checks, {N} one at a time: p50 {results['verify_sync_ms_p50']} ms, "
      f"p90 {results['verify_sync_ms_p90']} ms; answers {statuses}", flush=True)
print(f"[bench] serve peak RSS {results['serve_peak_rss_mb']} MB", flush=True)
print(json.dumps(results))
