"""Drives a running Verity server with the official `complycube` Python client, unmodified.

Only the base URL changes: `complycube._base_url` is pointed at the server before the client is
constructed, as the ComplyCube docs' integration would. Environment:
  VERITY_URL      e.g. http://127.0.0.1:8080/v1
  VERITY_KEY      an API key (verity keys create)
  SELFIE, DOC_FRONT  image files (JPG/PNG, 34 KB - 4 MB) of the same person
Prints one line per step; exits non-zero on the first failure.
"""
import base64
import http.server
import json
import os
import sys
import threading
import time
import urllib.request

import complycube
from complycube import ComplyCubeClient
from complycube.error import ComplyCubeAPIError
from complycube.eventverifier import EventVerifier

complycube._base_url = os.environ["VERITY_URL"]
cc = ComplyCubeClient(api_key=os.environ["VERITY_KEY"])


def step(msg):
    print(f"[sdk] {msg}", flush=True)


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


# A local webhook receiver.
received = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received.append((body, self.headers.get("ComplyCube-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"

webhook = cc.webhooks.create(url=hook_url, enabled=True, events=["check.completed", "check.pending"])
assert webhook.secret, "the secret is shown on create"
step(f"webhook {webhook.id} -> {hook_url}")

first = f"John{int(time.time() * 1000) % 1000000}"
client = cc.clients.create(
    type="person",
    email="john.doe@example.com",
    personDetails={"firstName": first, "lastName": "Doe", "dob": "1990-01-01"},
)
assert client.id and client.entity_name == f"{first} Doe", client
step(f"client {client.id}")

for i in range(4):
    cc.clients.create(type="person", email=f"other{i}@example.com",
                      personDetails={"firstName": f"Other{i}", "lastName": "Person"})
found = cc.clients.list(personDetails={"firstName": first})
assert [c.id for c in found] == [client.id], found
step(f"dotted filter personDetails.firstName={first} finds exactly the client")

total = cc.clients.list(pageSize=2).total_items
seen = [c.id for c in cc.clients.auto_list(pageSize=2)]
assert total >= 5 and len(seen) == total and len(set(seen)) == total and client.id in seen, (total, seen)
step(f"auto_list walked {(total + 1) // 2} pages of 2 ({total} clients), no duplicates")

addr = cc.addresses.create(client.id, "221B Baker Street", "London", "GB", postalCode="NW1 6XE", type="main")
assert addr.client_id == client.id and addr.type == "main", addr
addr = cc.addresses.update(addr.id, type="alternative")
listed = cc.addresses.list(client.id)
assert addr.type == "alternative" and [a.id for a in listed] == [addr.id], (addr, listed)
step(f"address {addr.id} created, updated and listed for the client")

photo = cc.livephotos.upload(client.id, b64(os.environ["SELFIE"]))
assert photo.id and photo.client_id == client.id, photo
step(f"live photo {photo.id} ({photo.size} bytes, {photo.content_type})")

doc = cc.documents.create(client.id, type="passport", issuingCountry="GB")
front = cc.documents.upload(doc.id, "front", fileName="front.jpg", data=b64(os.environ["DOC_FRONT"]))
assert front.document_side == "front", front
step(f"document {doc.id} with its front image")

check = cc.checks.create(client.id, "identity_check", livePhotoId=photo.id, documentId=doc.id)
assert check.status == "pending", check
deadline = time.time() + 120
while check.status == "pending" and time.time() < deadline:
    time.sleep(0.5)
    check = cc.checks.get(check.id)
assert check.status == "complete", check
bd = check.result.breakdown
step(f"identity_check {check.id}: outcome {check.result.outcome}, "
     f"facialSimilarity {bd.face_analysis.facial_similarity} "
     f"(score {bd.face_analysis.breakdown.facial_similarity_score}), "
     f"livenessCheck {bd.authenticity_analysis.liveness_check} "
     f"(score {bd.authenticity_analysis.breakdown.liveness_check_score})")
assert bd.face_analysis.face_detection == "clear"
assert bd.face_analysis.facial_similarity == "clear"
assert bd.integrity_analysis.face_detection == "clear"

outcome = cc.checks.validate(check.id, outcome="clear")
assert outcome.outcome == "clear", outcome
step("validated by a reviewer")

logs = list(cc.auditlogs.list(resourceId=check.id))
assert [l.trigger for l in logs] == ["validateCheck", "createCheck"], logs
entry = cc.auditlogs.get(logs[0].id)
assert entry.action == "update" and entry.resource_type == "check", entry
step(f"audit log: the validation recorded ({len(entry.diff)} changes), listed and read back")

deadline = time.time() + 30
while time.time() < deadline and not any(b"check.completed" in b for b, _ in received):
    time.sleep(0.2)
verifier = EventVerifier(webhook.secret)
events = [verifier.construct_event(body, sig) for body, sig in received]
types = [e.type for e in events]
assert "check.pending" in types and "check.completed" in types, types
completed = [e for e in events if e.type == "check.completed"][0]
assert completed.payload.id == check.id and completed.resource_type == "check", completed
try:
    verifier.construct_event(received[0][0] + b" ", received[0][1])
    raise AssertionError("a tampered body must not verify")
except Exception as e:
    assert "signature" in str(e).lower(), e
step(f"{len(events)} webhook events verified with the SDK's EventVerifier")

flow = cc.flow.create(clientId=client.id, checkTypes=["document_check", "enhanced_identity_check"],
                      successUrl="https://example.com/ok", cancelUrl="https://example.com/no")
assert "/verif/s/" in flow.redirect_url, flow.redirect_url
with urllib.request.urlopen(flow.redirect_url) as page:
    assert page.status == 200 and b"MediaRecorder" in page.read()
token = cc.tokens.create(client.id, referrer="https://example.com/*")
assert token.token and token.token.count(".") == 2, token.token
step("hosted flow: a flow session's redirectUrl opens the capture page; an SDK token")

_, status = cc.clients.delete(client.id)
assert status == 204, status
try:
    cc.clients.get(client.id)
    raise AssertionError("deleted client still readable")
except ComplyCubeAPIError:
    pass
step("client deleted (204), then 404")

bad = ComplyCubeClient(api_key="vk_not_a_real_key")
try:
    bad.clients.list()
    raise AssertionError("a bad key must fail")
except ComplyCubeAPIError as e:
    assert "invalid API key" in str(e), e
step("a bad key gives a clean error")
print("sdk scenario: 1 passed, 0 failed")
