"""What the server benchmarks share (imported by bench/*_bench.py): a `verity serve` on a free
loopback port with a fresh data directory and one API key, and its peak RSS."""
import json
import os
import re
import subprocess
import threading


def start(bin_path, data):
    """Creates a key in `data` and starts `verity serve` there; answers (process, base URL, key)."""
    out = subprocess.run([bin_path, "keys", "create", "--name", "bench", "--data-dir", data],
                         check=True, capture_output=True).stdout
    key = json.loads(out)["key"]
    env = dict(os.environ, VERITY__LIMITS__REQUESTS_PER_MINUTE="0")
    server = subprocess.Popen([bin_path, "serve", "--data-dir", data, "--listen", "127.0.0.1:0"],
                              stderr=subprocess.PIPE, env=env, text=True)
    url = None
    for line in server.stderr:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
            break
    # Keep reading the log so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    return server, url, key


def stop(server):
    """Stops the server; answers its peak resident memory in MB."""
    with open(f"/proc/{server.pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    server.terminate()
    server.wait(timeout=30)
    return round(hwm / 1024)
