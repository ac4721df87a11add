#!/usr/bin/env python3
"""Writes a copy of a JSONL training file with a fraction of its labels flipped (two-class data).

Which examples flip is decided by SHA-256 of the id (the same rule the suites' `limit` uses to pick
subsets), so the copy is reproducible and the injected regression is the same on every machine.
  make_flipped.py IN.jsonl OUT.jsonl FRACTION LABEL_A LABEL_B
"""
import hashlib, json, sys

src, dst, fraction, a, b = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
flipped = total = 0
with open(src) as inp, open(dst + ".tmp", "w") as out:
    for line in inp:
        row = json.loads(line)
        total += 1
        h = int.from_bytes(hashlib.sha256(("flip:" + row["id"]).encode()).digest()[:8], "big") / 2**64
        if h < fraction:
            row["label"] = b if row["label"] == a else a
            flipped += 1
        out.write(json.dumps(row) + "\n")
import os
os.replace(dst + ".tmp", dst)
print(f"{dst}: {flipped} of {total} labels flipped ({flipped / total:.3f})")
