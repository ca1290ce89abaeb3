"""Measures the dashboard against a real `verity serve` (see bench/dashboard.sh): BENCH_CASES
one-call verifications (OCR only, on a specimen passport of the shared data) are made, then an
admin signs in and the pages are read one at a time: sign-in (Argon2id included), the case list
(a page of 25; filtered), a case page, an image, the audit log, the 30-day overview.

Prints one line per figure (p50 / p90 in ms) and a final JSON line. Standard library only.
"""
import base64
import http.cookiejar
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import verity_serve

BIN = os.environ.get("VERITY_BIN", "target/release/verity")
SHARED = os.environ.get("VERITY_SHARED_DIR", "../shared")
CASES = int(os.environ.get("BENCH_CASES", "200"))
N = int(os.environ.get("BENCH_READS", "30"))
work = tempfile.mkdtemp(prefix="verity-dashboard-bench-")
data = os.path.join(work, "data")

server, url, key = verity_serve.start(BIN, data)
keys = json.loads(subprocess.run([BIN, "keys", "list", "--data-dir", data], check=True,
                                 capture_output=True).stdout)["keys"]
password = "bench password 0123456789"
subprocess.run([BIN, "users", "create", "--email", "admin@bench.example", "--role", "admin",
                "--tenant", keys[0]["tenantId"], "--password-stdin", "--data-dir", data],
               input=password.encode(), check=True, capture_output=True)

front = base64.b64encode(open(f"{SHARED}/data/documents/images/passporteye/tests_passport-td3.jpg", "rb").read()).decode()
body = json.dumps({"document_front": front, "document_type": "passport", "country": "DE", "checks": ["ocr"]}).encode()
t0 = time.perf_counter()
ids = []
for i in range(CASES):
    req = urllib.request.Request(url + "/v1/identity/verify", method="POST", data=body,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        ids.append(json.loads(r.read())["id"])
made_s = time.perf_counter() - t0


def browser():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def sign_in(b):
    page = b.open(url + "/dashboard/login").read().decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    form = urllib.parse.urlencode({"email": "admin@bench.example", "password": password, "csrf": csrf, "next": ""})
    t = time.perf_counter()
    r = b.open(url + "/dashboard/login", data=form.encode())
    r.read()
    assert r.geturl().endswith("/dashboard/cases"), r.geturl()
    return (time.perf_counter() - t) * 1000


def timed(b, path, n=N):
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        with b.open(url + path) as r:
            r.read()
            assert r.status == 200, (path, r.status)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return {"p50_ms": round(lat[len(lat) // 2], 1), "p90_ms": round(lat[int(len(lat) * 0.9)], 1)}


logins = sorted(sign_in(browser()) for _ in range(5))
b = browser()
sign_in(b)
case = ids[0].removeprefix("ver_")
results = {
    "cases": CASES,
    "cases_made_per_s": round(CASES / made_s, 1),
    "sign_in_incl_redirect_ms_p50": round(logins[2], 1),
    "cases_list": timed(b, "/dashboard/cases"),
    "cases_list_filtered": timed(b, "/dashboard/cases?outcome=clear&type=one-call&risk=low"),
    "cases_list_page_5": timed(b, "/dashboard/cases?page=5"),
    "case_page": timed(b, f"/dashboard/cases/verification/{case}"),
    "case_image": timed(b, f"/dashboard/cases/verification/{case}/files/document_front"),
    "audit_log": timed(b, "/dashboard/audit"),
    "overview": timed(b, "/dashboard/overview", 10),
}
results["peak_rss_mb"] = verity_serve.stop(server)
for k, v in results.items():
    print(f"{k}: {v}")
print(json.dumps(results))
