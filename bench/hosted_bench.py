"""Measures the hosted flow's `POST /verif/submit` against a real `verity serve` (see
bench/hosted.sh): an 8 s 720x1280 selfie video (the shared live video, scaled, H.264) and a ~1 MP
ID photo (a specimen passport of the shared data, 1334x880), one submission at a time, with the
seed's form (`api_key`, `user_identifier`): wall-clock p50 / p90 over BENCH_SUBMISSIONS
(default 10), the answers, the server's peak RSS, and the capture page's weight.

Prints one line per figure and a final JSON line. Standard library only (plus ffmpeg).
"""
import json
import os
import subprocess
import tempfile
import time
import urllib.request

import verity_serve

BIN = os.environ.get("VERITY_BIN", "target/release/verity")
SHARED = os.environ.get("VERITY_SHARED_DIR", "../shared")
N = int(os.environ.get("BENCH_SUBMISSIONS", "10"))
work = tempfile.mkdtemp(prefix="verity-hosted-bench-")
data = os.path.join(work, "data")


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True)


video = os.path.join(work, "selfie.mp4")
sh("ffmpeg", "-v", "error", "-y", "-i", f"{SHARED}/data/video/live/tranvanluyt_real.mp4", "-t", "8",
   "-vf", "scale=720:1280", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-an", video)
photo = f"{SHARED}/data/documents/images/passporteye/tests_passport-td3.jpg"

server, url, key = verity_serve.start(BIN, data)

boundary = "verity-bench-boundary"


def part(name, value, filename=None, ctype=None):
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
    if filename:
        head += f'; filename="{filename}"\r\nContent-Type: {ctype}'
    return head.encode() + b"\r\n\r\n" + value + b"\r\n"


body = b"".join([
    part("api_key", key.encode()),
    part("user_identifier", b"bench-user"),
    part("selfie_video", open(video, "rb").read(), "selfie.mp4", "video/mp4"),
    part("id_photo", open(photo, "rb").read(), "id.jpg", "image/jpeg"),
]) + f"--{boundary}--\r\n".encode()


def post():
    req = urllib.request.Request(url + "/verif/submit", method="POST", data=body,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        v = json.loads(r.read())
        return (time.perf_counter() - t0) * 1000, r.status, v


post()  # warm-up: first use of every model session
lat, statuses = [], {}
for _ in range(N):
    ms, code, v = post()
    lat.append(ms)
    k = f"{code} {v['result']['status']}"
    statuses[k] = statuses.get(k, 0) + 1
lat.sort()
# The page's weight: a capture link's HTML (everything is inline).
req = urllib.request.Request(url + "/v1/capture-sessions", method="POST",
                             data=json.dumps({"user_identifier": "bench-user"}).encode(),
                             headers={"Authorization": key, "Content-Type": "application/json"})
link = json.loads(urllib.request.urlopen(req).read())["url"]
page = urllib.request.urlopen(link).read()
peak_rss_mb = verity_serve.stop(server)
results = {
    "hosted_submit_ms_p50": round(lat[len(lat) // 2]),
    "hosted_submit_ms_p90": round(lat[int(len(lat) * 0.9) - 1]),
    "video_bytes": os.path.getsize(video),
    "answers": statuses,
    "page_bytes": len(page),
    "serve_peak_rss_mb": peak_rss_mb,
}
print(f"[bench] hosted submit, 8 s 720p video + 1.2 MP photo, {N} one at a time: "
      f"p50 {results['hosted_submit_ms_p50']} ms, p90 {results['hosted_submit_ms_p90']} ms; answers {statuses}",
      flush=True)
print(f"[bench] capture page {results['page_bytes']} bytes; serve peak RSS {results['serve_peak_rss_mb']} MB",
      flush=True)
print(json.dumps(results))
