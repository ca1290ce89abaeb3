"""Runs the face_recognition library (dlib) on a pairs CSV, the way its README does, and prints
one JSON line: accuracy at its published 0.6 distance, per-image and per-pair times.

Used by bench/faces-vs-face_recognition.sh; not part of Verity."""
import csv
import json
import statistics
import sys
import time

import face_recognition  # noqa: E402  (installed in the bench virtualenv)

pairs_csv, root = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(pairs_csv)))
cache = {}


def encode(rel):
    if rel not in cache:
        t = time.perf_counter()
        img = face_recognition.load_image_file(f"{root}/{rel}")
        enc = face_recognition.face_encodings(img)  # HOG detector, 5-point landmarks
        cache[rel] = (enc[0] if enc else None, (time.perf_counter() - t) * 1000)
    return cache[rel]


correct = 0
no_face_pairs = 0
pair_ms = []
for r in rows:
    (ea, ta), (eb, tb) = encode(r["file_a"]), encode(r["file_b"])
    same = r["same"].strip() in ("1", "true", "True")
    if ea is None or eb is None:
        no_face_pairs += 1
        predicted = False  # a failure to detect counts as a reject, as in Verity's harness
    else:
        predicted = face_recognition.face_distance([ea], eb)[0] <= 0.6
    correct += predicted == same
    pair_ms.append(ta + tb)

image_ms = [t for _, t in cache.values()]
print(json.dumps({
    "system": "face_recognition 1.3.0 (dlib HOG + ResNet, tolerance 0.6)",
    "pairs": len(rows),
    "accuracy": round(correct / len(rows), 4),
    "fail_to_detect": sum(1 for e, _ in cache.values() if e is None),
    "images": len(cache),
    "pairs_without_face": no_face_pairs,
    "ms_per_image_p50": round(statistics.median(image_ms), 2),
    "ms_per_pair_p50": round(statistics.median(pair_ms), 2),
    "ms_per_pair_mean": round(statistics.mean(pair_ms), 2),
}))
