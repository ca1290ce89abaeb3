// Drives a running Verity server with the official ComplyCube Node.js SDK (@complycube/api,
// pinned in package-lock.json, unmodified). Only the base URL changes, on the SDK's own axios
// instance. Environment:
//   VERITY_URL   e.g. http://127.0.0.1:8080/v1      VERITY_KEY   an API key
//   SELFIE, DOC_FRONT, DOC_BACK   images (34 KB - 4 MB) of one person
//   VIDEO, VIDEO_DOC              a selfie video and a document with that person's portrait
// Prints one line per step; exits non-zero on the first failure.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const { ComplyCube, ComplyCubeApiError, EventVerifier } = require("@complycube/api");

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const step = (msg) => console.log(`[node-sdk] ${msg}`);
const b64 = (path) => fs.readFileSync(path).toString("base64");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sdk(apiKey) {
  const cc = new ComplyCube({ apiKey });
  cc.axiosInstance.defaults.baseURL = env("VERITY_URL");
  return cc;
}

/** Runs `fn`, which must fail with a ComplyCubeApiError of `status` (and `param`). */
async function refused(fn, status, param) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof ComplyCubeApiError, `expected a ComplyCubeApiError, got ${e}`);
    assert.equal(e.statusCode, status, e.message);
    assert.ok(e.isClientError(), e.message);
    assert.equal(typeof e.type, "string");
    if (param !== undefined) assert.equal(e.param, param, e.message);
    return e;
  }
  throw new Error(`expected HTTP ${status}, the call succeeded`);
}

async function poll(cc, id) {
  const deadline = Date.now() + 180_000;
  let c = await cc.check.get(id);
  while (c.status === "pending" && Date.now() < deadline) {
    await sleep(300);
    c = await cc.check.get(id);
  }
  assert.equal(c.status, "complete", JSON.stringify(c));
  return c;
}

async function main() {
  const cc = sdk(env("VERITY_KEY"));

  // A local webhook receiver: raw bodies and signatures.
  const received = [];
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks), sig: req.headers["complycube-signature"] });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

  // Webhooks: every event ("*"), and ComplyCube's documented event types.
  const hook = await cc.webhook.create({ url: hookUrl, enabled: true, events: ["*"] });
  assert.ok(hook.id && hook.secret, "the secret is shown on create");
  const documented = await cc.webhook.create({
    url: hookUrl,
    enabled: false,
    events: ["check.updated", "check.monitoring.attention", "check.completed.match_confirmed"],
  });
  assert.equal((await cc.webhook.get(documented.id)).enabled, false);
  const renamed = await cc.webhook.update(documented.id, { description: "documented types" });
  assert.equal(renamed.description, "documented types");
  assert.ok((await cc.webhook.list()).some((w) => w.id === hook.id));
  await cc.webhook.delete(documented.id);
  await refused(() => cc.webhook.get(documented.id), 404);
  await refused(
    () => cc.webhook.create({ url: "http://169.254.169.254/latest/meta-data/", events: ["*"] }),
    422,
    "url",
  );
  step(`webhooks: "*" and the documented event types accepted; an internal address refused`);

  // Clients.
  const first = `Ada${Date.now() % 1_000_000}`;
  const client = await cc.client.create({
    type: "person",
    email: "ada@example.com",
    personDetails: { firstName: first, lastName: "Lovelace", dob: "1990-01-01" },
  });
  assert.equal(client.entityName, `${first} Lovelace`);
  assert.equal((await cc.client.get(client.id)).id, client.id);
  const updated = await cc.client.update(client.id, { mobile: "+447700900123" });
  assert.equal(updated.mobile, "+447700900123");
  assert.equal(updated.personDetails.firstName, first, "nested details kept");
  assert.ok((await cc.client.list({ pageSize: 100 })).some((c) => c.id === client.id));
  const company = await cc.client.create({
    type: "company",
    email: "info@acme.example",
    companyDetails: { name: "Acme Ltd", incorporationCountry: "GB" },
  });
  const bad = await refused(() => cc.client.create({ type: "person", email: "nope" }), 422);
  assert.equal(bad.responseBody.code !== undefined, true);
  await refused(() => cc.client.get("000000000000000000000000"), 404);
  step(`clients: create, get, update, list; errors through ComplyCubeApiError (${bad.type})`);

  // Addresses.
  const addr = await cc.address.create(client.id, {
    type: "main",
    line: "12 Baker Street",
    city: "London",
    postalCode: "NW1 6XE",
    country: "GB",
  });
  assert.equal((await cc.address.get(addr.id)).city, "London");
  assert.equal((await cc.address.update(addr.id, { type: "alternative" })).type, "alternative");
  assert.deepEqual((await cc.address.list(client.id)).map((a) => a.id), [addr.id]);
  await cc.address.delete(addr.id);
  assert.equal((await cc.address.list(client.id)).length, 0);
  step("addresses: create, get, update, list, delete");

  // Live photos: upload, get, download, list.
  const selfie = b64(env("SELFIE"));
  const photo = await cc.livePhoto.upload(client.id, { data: selfie, performLivenessCheck: true });
  assert.equal((await cc.livePhoto.get(photo.id)).clientId, client.id);
  const down = await cc.livePhoto.download(photo.id);
  assert.equal(down.data, selfie, "the photo reads back unchanged");
  assert.deepEqual((await cc.livePhoto.list(client.id)).map((p) => p.id), [photo.id]);
  const spare = await cc.livePhoto.upload(client.id, { data: selfie });
  await cc.livePhoto.delete(spare.id);
  await refused(() => cc.livePhoto.get(spare.id), 404);
  await refused(() => cc.livePhoto.upload(client.id, { data: "not base64 at all!" }), 400, "data");
  step("live photos: upload, get, download (identical), list, delete; bad base64 refused");

  // Documents: create, update, upload both sides, download, delete a side, redact, delete.
  const front = b64(env("DOC_FRONT"));
  const doc = await cc.document.create(client.id, { type: "passport", issuingCountry: "GB" });
  assert.equal((await cc.document.update(doc.id, { classification: "proof_of_identity" })).classification, "proof_of_identity");
  const img = await cc.document.upload(doc.id, { fileName: "front.jpg", data: front }, "front");
  assert.equal(img.documentSide, "front");
  assert.equal((await cc.document.download(doc.id, "front")).data, front);
  assert.ok((await cc.document.list(client.id)).some((d) => d.id === doc.id));
  const other = await cc.document.create(client.id, { type: "driving_license", issuingCountry: "GB" });
  await cc.document.upload(other.id, { fileName: "front.jpg", data: front }, "front");
  await cc.document.upload(other.id, { fileName: "back.jpg", data: b64(env("DOC_BACK")) }, "back");
  await cc.document.deleteImage(other.id, "back");
  await refused(() => cc.document.download(other.id, "back"), 404);
  const redacted = await cc.document.redact(other.id, {});
  assert.equal(redacted.redacted, true);
  assert.deepEqual(redacted.images, []);
  await refused(() => cc.document.download(other.id, "front"), 404);
  await cc.document.delete(other.id);
  await refused(() => cc.document.get(other.id), 404);
  await refused(() => cc.document.redact("000000000000000000000000", {}), 404);
  step("documents: create, update, upload front and back, download, delete a side, redact, delete");

  // A live video: the SDK has no upload method; the same axios instance posts it.
  const video = fs.readFileSync(env("VIDEO"));
  const { data: lv } = await cc.axiosInstance.post(`liveVideos?clientId=${client.id}`, video, {
    headers: { "Content-Type": "video/mp4" },
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
  });
  assert.equal((await cc.liveVideo.get(lv.id)).clientId, client.id);
  assert.deepEqual((await cc.liveVideo.list(client.id)).map((v) => v.id), [lv.id]);
  const videoDoc = await cc.document.create(client.id, { type: "national_identity_card", issuingCountry: "GB" });
  await cc.document.upload(videoDoc.id, { fileName: "card.jpg", data: b64(env("VIDEO_DOC")) }, "front");
  step(`live video ${lv.id}: ${lv.durationSeconds} s ${lv.codec}, get and list`);

  // Every check type, polled to completion. The identity check first: its clear live photo
  // enrols the client's face, which face authentication then compares a new photo with.
  const checks = {};
  const create = {
    identity_check: { livePhotoId: photo.id, documentId: doc.id },
    document_check: { documentId: doc.id },
    face_authentication_check: { livePhotoId: (await cc.livePhoto.upload(client.id, { data: selfie })).id },
    enhanced_identity_check: { liveVideoId: lv.id, documentId: videoDoc.id },
  };
  for (const [type, inputs] of Object.entries(create)) {
    const c = await cc.check.create(client.id, { type, ...inputs });
    assert.equal(c.status, "pending");
    const done = await poll(cc, c.id);
    checks[type] = done;
    step(`${type} ${done.id}: ${done.result.outcome}${done.result.reasons ? ` (${done.result.reasons.join("; ")})` : ""}`);
  }
  assert.equal(checks.face_authentication_check.result.outcome, "clear");
  assert.equal(checks.identity_check.result.outcome, "clear");
  assert.equal(checks.enhanced_identity_check.result.outcome, "clear");
  assert.ok((await cc.check.list(client.id)).length >= 4);
  const monitored = await cc.check.update(checks.identity_check.id, { enableMonitoring: false });
  assert.equal(monitored.enableMonitoring, false);
  for (const outcome of ["confirmed", "rejected", "attention"]) {
    const v = await cc.check.validate(checks.identity_check.id, { outcome });
    assert.equal(v.outcome, outcome);
  }
  await refused(() => cc.check.validate(checks.identity_check.id, { outcome: "maybe" }), 422, "outcome");
  await refused(
    () => cc.check.create(company.id, { type: "identity_check", livePhotoId: photo.id, documentId: doc.id }),
    422,
  );
  await refused(() => cc.livePhoto.delete(photo.id), 422);
  await refused(() => cc.document.deleteImage(doc.id, "front"), 422);
  step("checks: list, update, validate (confirmed, rejected, attention); evidence locked");

  const logs = await cc.auditLog.list({ page: 1, pageSize: 100 });
  const validated = logs.filter(
    (l) => l.resourceId === checks.identity_check.id && l.trigger === "validateCheck" && l.action === "update",
  );
  assert.equal(validated.length, 3, JSON.stringify(logs.slice(0, 5)));
  const entry = await cc.auditLog.get(validated[0].id);
  assert.equal(entry.resourceType, "check");
  assert.ok(entry.diff.some((d) => d.path.join(".") === "validation.outcome"), JSON.stringify(entry.diff));
  step("audit log: every validation recorded with its diff (list, get)");

  // An early refusal of a large body keeps the keep-alive agent usable.
  const stranger = sdk("vk_not_a_real_key");
  const e401 = await refused(() => stranger.livePhoto.upload(client.id, { data: "A".repeat(5_000_000) }), 401);
  assert.match(e401.message, /invalid API key/);
  for (let i = 0; i < 5; i++) assert.equal((await cc.client.get(client.id)).id, client.id);
  step("a 401 before a large body is read: the next calls on the same agent succeed");

  // Webhook events, verified with the SDK's EventVerifier.
  const deadline = Date.now() + 60_000;
  const completedIds = () =>
    new Set(received.map((r) => JSON.parse(r.body)).filter((e) => e.type === "check.completed").map((e) => e.payload.id));
  while (Date.now() < deadline && completedIds().size < 4) await sleep(200);
  const verifier = new EventVerifier(hook.secret);
  const events = received.map((r) => verifier.constructEvent(r.body.toString(), r.sig));
  const types = new Set(events.map((e) => e.type));
  for (const t of ["client.created", "client.updated", "document.created", "check.pending", "check.completed", "check.updated"]) {
    assert.ok(types.has(t), `no ${t} event: ${[...types]}`);
  }
  for (const c of Object.values(checks)) assert.ok(completedIds().has(c.id), `no check.completed for ${c.id}`);
  assert.throws(() => verifier.constructEvent(received[0].body.toString() + " ", received[0].sig), /signature/i);
  step(`${events.length} webhook events verified with EventVerifier (${types.size} types)`);

  const flow = await cc.flow.createSession(client.id, {
    checkTypes: ["document_check", "enhanced_identity_check"],
    successUrl: "https://example.com/ok",
    cancelUrl: "https://example.com/no",
    language: "fr",
    theme: "dark",
  });
  assert.match(flow.redirectUrl, /\/verif\/s\//);
  const page = await fetch(flow.redirectUrl);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /lang="fr"/);
  const token = await cc.token.generate(client.id, { referrer: "https://example.com/*" });
  assert.equal(token.split(".").length, 3, token);
  step("hosted flow: a flow session's redirectUrl opens the capture page (in French); an SDK token");

  await cc.webhook.delete(hook.id);
  await cc.client.delete(company.id);
  await cc.client.delete(client.id);
  await refused(() => cc.client.get(client.id), 404);
  await refused(() => cc.check.get(checks.identity_check.id), 404);
  step("clients deleted with everything recorded for them");
  receiver.close();
}

main().then(
  () => {
    console.log("node-sdk: 1 passed, 0 failed");
  },
  (e) => {
    console.error(e);
    console.log("node-sdk: 0 passed, 1 failed");
    process.exit(1);
  },
);
