"""Measures the API server's targets against a real `verity serve` (see bench/api.sh):

1. GET /v1/checks/{id} requests per second on SQLite (wrk, 2 threads, 32 connections, 10 s);
2. identity_check latency from POST /v1/checks to `complete` with ~1 MP images (server
   timestamps: updatedAt - createdAt), p50 / p90 over N checks, and the engine time
   (`result.processingMs`: loading the evidence and running the check);
2b. identity_check throughput: 20 concurrent clients, each creating a check and polling it to
   completion, again and again, for BENCH_SECONDS (default 30): checks per second, none lost;
   then the server's peak RSS with every model loaded and used (VmHWM);
3. peak RSS growth of the server during 100 concurrent ~4 MB uploads;
4. kill -9 while checks are pending: after a restart, every check completes.

Prints one line per figure and a final JSON line. Standard library only (plus ffmpeg and wrk).
"""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = os.environ.get("VERITY_BIN", "target/release/verity")
SHARED = os.environ.get("VERITY_SHARED_DIR", "../shared")
N_CHECKS = int(os.environ.get("BENCH_CHECKS", "20"))
work = tempfile.mkdtemp(prefix="verity-bench-")
data = os.path.join(work, "data")
results = {}


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw)


def start(env_extra=None):
    # No per-key rate limit while measuring throughput (the default budget is 6000/min).
    env = dict(os.environ, VERITY__LIMITS__REQUESTS_PER_MINUTE="0", **(env_extra or {}))
    log = open(os.path.join(work, "server.log"), "a")
    p = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, env=env, text=True)
    url = None
    for line in p.stderr:
        log.write(line)
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
            break
    threading.Thread(target=lambda: [log.write(l) for l in p.stderr], daemon=True).start()
    return p, url


def call(method, url, key, body=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# Images: a ~1 MP selfie and a ~1 MP card with the same person's portrait; a ~4 MB JPEG.
L = f"{SHARED}/data/faces/lfw/Abdullah_Gul"
selfie, front, big = (os.path.join(work, n) for n in ("selfie.jpg", "front.jpg", "big.jpg"))
sh("ffmpeg", "-v", "error", "-y", "-i", f"{L}/Abdullah_Gul_0006.jpg", "-vf", "scale=1000:1000,noise=alls=6:allf=t", "-q:v", "3", selfie)
sh("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0xc8d8e8:s=1280x800", "-i", f"{L}/Abdullah_Gul_0001.jpg",
   "-filter_complex", "[1:v]crop=100:125:25:15,scale=300:375[p];[0:v][p]overlay=80:200,noise=alls=8:allf=t",
   "-frames:v", "1", "-q:v", "3", front)
sh("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=2400x2000", "-vf", "noise=alls=40:allf=t",
   "-frames:v", "1", "-q:v", "2", big)
b64 = lambda p: base64.b64encode(open(p, "rb").read()).decode()
print(f"[bench] images: selfie {os.path.getsize(selfie)} B, front {os.path.getsize(front)} B, big {os.path.getsize(big)} B", flush=True)

key = json.loads(sh(BIN, "keys", "create", "--name", "bench", "--data-dir", data).stdout)["key"]
server, url = start()
api = url + "/v1"
client = call("POST", f"{api}/clients", key, {"type": "person", "email": "b@e.io", "personDetails": {"firstName": "A", "lastName": "B"}})["id"]
photo = call("POST", f"{api}/livePhotos", key, {"clientId": client, "data": b64(selfie)})["id"]
doc = call("POST", f"{api}/documents", key, {"clientId": client, "type": "passport"})["id"]
call("POST", f"{api}/documents/{doc}/upload/front", key, {"fileName": "f.jpg", "data": b64(front)})


def wait_complete(ids, timeout=600):
    deadline = time.time() + timeout
    out = {}
    while time.time() < deadline and len(out) < len(ids):
        for i in ids:
            if i not in out:
                c = call("GET", f"{api}/checks/{i}", key)
                if c["status"] != "pending":
                    out[i] = c
        time.sleep(0.05)
    return out


# 2. latency, one check at a time.
lat = []
engine = []
outcomes = {}
for _ in range(N_CHECKS):
    c = call("POST", f"{api}/checks", key, {"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc})
    done = wait_complete([c["id"]])[c["id"]]
    t = lambda s: time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + int(s[20:23]) / 1000
    lat.append((t(done["updatedAt"]) - t(done["createdAt"])) * 1000)
    engine.append(done["result"]["processingMs"])
    outcomes[done["result"]["outcome"]] = outcomes.get(done["result"]["outcome"], 0) + 1
lat.sort()
engine.sort()
results["identity_check_engine_ms_p50"] = engine[len(engine) // 2]
results["identity_check_engine_ms_p90"] = engine[int(len(engine) * 0.9) - 1]
results["identity_check_ms_p50"] = round(lat[len(lat) // 2])
results["identity_check_ms_p90"] = round(lat[int(len(lat) * 0.9) - 1])
results["identity_check_outcomes"] = outcomes
print(f"[bench] identity_check POST→complete over {N_CHECKS}: p50 {results['identity_check_ms_p50']} ms, p90 {results['identity_check_ms_p90']} ms, outcomes {outcomes}", flush=True)
print(f"[bench] identity_check engine time (processingMs): p50 {results['identity_check_engine_ms_p50']} ms, p90 {results['identity_check_engine_ms_p90']} ms", flush=True)

# 2b. throughput with 20 concurrent clients.
BENCH_SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
created, finished, errors = [], [], []
lock = threading.Lock()
deadline = time.time() + BENCH_SECONDS


def client_loop():
    while time.time() < deadline:
        try:
            c = call("POST", f"{api}/checks", key, {"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc})
            with lock:
                created.append(c["id"])
            while True:
                r = call("GET", f"{api}/checks/{c['id']}", key)
                if r["status"] != "pending":
                    with lock:
                        finished.append((time.time(), r["status"]))
                    break
                time.sleep(0.2)  # 20 clients poll 100 times a second in all: little CPU beside the checks
        except Exception as e:  # counted, not hidden
            with lock:
                errors.append(str(e))


t0 = time.time()
threads = [threading.Thread(target=client_loop) for _ in range(20)]
[t.start() for t in threads]
[t.join() for t in threads]
elapsed = time.time() - t0
complete = sum(1 for _, st in finished if st == "complete")
results["identity_checks_per_second_20_clients"] = round(complete / elapsed, 2)
results["throughput_checks_created"] = len(created)
results["throughput_checks_complete"] = complete
results["throughput_errors"] = len(errors)
results["serve_peak_rss_mb"] = round(rss_kb(server.pid, "VmHWM") / 1024, 1)
print(f"[bench] identity_check throughput, 20 concurrent clients for {elapsed:.0f} s: {results['identity_checks_per_second_20_clients']} checks/s "
      f"({complete} complete of {len(created)} created, {len(errors)} errors)", flush=True)
print(f"[bench] verity serve peak RSS with every model loaded and used: {results['serve_peak_rss_mb']} MB", flush=True)

# 1. GET /v1/checks/{id} throughput.
cid = c["id"]
w = subprocess.run(["wrk", "-t2", "-c32", "-d10s", "-H", f"Authorization: {key}", f"{api}/checks/{cid}"], capture_output=True, text=True)
m = re.search(r"Requests/sec:\s+([\d.]+)", w.stdout)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", w.stdout)
results["get_check_rps"] = float(m.group(1)) if m else None
results["get_check_non_2xx"] = int(non2xx.group(1)) if non2xx else 0
lat_line = re.search(r"Latency\s+(\S+)", w.stdout)
print(f"[bench] GET /v1/checks/{{id}}: {results['get_check_rps']} req/s (wrk -t2 -c32 -d10s on the same 2 cores; mean latency {lat_line.group(1) if lat_line else '?'}; non-2xx {results['get_check_non_2xx']})", flush=True)

# 3. 100 concurrent ~4 MB uploads.
payload = json.dumps({"fileName": "big.jpg", "data": b64(big)}).encode()
base_rss = rss_kb(server.pid)
peak = [base_rss]
stop = threading.Event()


def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kb(server.pid))
        time.sleep(0.01)


docs = [call("POST", f"{api}/documents", key, {"clientId": client, "type": "passport"})["id"] for _ in range(100)]
codes = []


def up(d):
    req = urllib.request.Request(f"{api}/documents/{d}/upload/front", method="POST", data=payload,
                                 headers={"Authorization": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            codes.append(r.status)
    except urllib.error.HTTPError as e:
        codes.append(e.code)


threading.Thread(target=sample, daemon=True).start()
t0 = time.time()
ts = [threading.Thread(target=up, args=(d,)) for d in docs]
[t.start() for t in ts]
[t.join() for t in ts]
stop.set()
results["uploads_100x4mb_seconds"] = round(time.time() - t0, 2)
results["uploads_rss_growth_mb"] = round((peak[0] - base_rss) / 1024, 1)
results["uploads_status"] = {str(k): codes.count(k) for k in set(codes)}
print(f"[bench] 100 concurrent uploads of {len(payload) / 1e6:.1f} MB bodies: {results['uploads_100x4mb_seconds']} s, "
      f"peak RSS growth {results['uploads_rss_growth_mb']} MB (from {base_rss / 1024:.0f} MB), statuses {results['uploads_status']}", flush=True)

# 4. kill -9 with checks pending; restart; all complete.
ids = [call("POST", f"{api}/checks", key, {"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc})["id"]
       for _ in range(30)]
time.sleep(0.3)
os.kill(server.pid, signal.SIGKILL)
server.wait()
server, url = start({"VERITY__WORKERS__LEASE_SECS": "5"})
api = url + "/v1"
done = wait_complete(ids, timeout=900)
complete = sum(1 for c in done.values() if c["status"] == "complete")
results["kill9_checks"] = len(ids)
results["kill9_completed_after_restart"] = complete
print(f"[bench] kill -9 with {len(ids)} checks queued/running: after restart {complete}/{len(ids)} complete", flush=True)
server.send_signal(signal.SIGTERM)
server.wait(timeout=60)
print(json.dumps(results))
