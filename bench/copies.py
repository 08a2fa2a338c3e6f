"""N copies of one small DX image of the demo day, each its own study, series and instance: the
image's 2.25.* UIDs get a per-copy tail of the same length, so every copy stays valid DICOM
byte for byte. 1,000 files per folder. Used by the benchmarks that need a large index.

    python3 bench/copies.py DEMO_DAY_DIR OUT_DIR N
"""
import os
import re
import sys

day, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
src = next(os.path.join(r, f) for r, _, fs in sorted(os.walk(day)) for f in sorted(fs) if "DX" in f.upper() or "dx" in r.lower())
data = open(src, "rb").read()
uids = sorted(set(re.findall(rb"2\.25\.\d{30,39}", data)), key=len)
for i in range(n):
    d = os.path.join(out, str(i // 1000))
    os.makedirs(d, exist_ok=True)
    b = data
    for k, u in enumerate(uids):
        tail = b"%d%07d" % (k, i)
        b = b.replace(u, u[: len(u) - len(tail)] + tail)
    open(os.path.join(d, f"{i}.dcm"), "wb").write(b)
