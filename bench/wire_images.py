"""The image side of bench/slowlink.sh and bench/wirecine.sh (run it through them, with the venv
of bench/vendor_venv.sh): prepares the images, runs the reference encoder on them, reads back
what the hub holds, and prints the tables.

    wire_images.py vendor OUTDIR                  copies of the vendor images, fresh UIDs; prints paths
    wire_images.py reference WORK FILE...         dcmcjpls on each file -> WORK/images.json
    wire_images.py hub HTTP_PORT OUT.json         what Orthanc holds: size and transfer syntax per SOP UID
    wire_images.py table WORK RATE_KBIT           the Markdown tables from WORK/images.json and runs.tsv
    wire_images.py cine OUT.dcm RAW [FRAMES]      the ~300 MB RGB cine (fresh UIDs), pixels also in RAW
    wire_images.py check-cine HTTP_PORT ORIGINAL  the hub's copy of the cine: syntax, pixel-exact?
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from vendor_images import CINE_FRAMES, FILES, write_cine  # bench/vendor_images.py, beside this file

JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"


def vendor(out):
    """Copies of the vendor images, each its own study with fresh UIDs: two of the files share a
    SOP Instance UID, and a hub keeps one instance per UID. Pixels and everything else as they
    are, in each file's own transfer syntax."""
    os.makedirs(out, exist_ok=True)
    for i, (folder, name, label) in enumerate(FILES):
        ds = pydicom.dcmread(os.path.join(folder, name))
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = os.path.join(out, f"{i:02d}_{name}")
        ds.save_as(path)
        with open(path + ".label", "w") as f:
            f.write(label)
        print(path)


def reference(work, files):
    """DCMTK's dcmcjpls (JPEG-LS lossless, its defaults) on each file: whole-file sizes, as a hub
    would store them. A file it refuses counts at its own size (it would go as received)."""
    images = []
    out = os.path.join(work, "ref.dcm")
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        label_file = path + ".label"
        label = open(label_file).read() if os.path.exists(label_file) else ds.get("Modality", "?")
        r = subprocess.run(["/usr/bin/dcmcjpls", path, out], capture_output=True, text=True)
        ok = r.returncode == 0
        images.append({
            "file": os.path.basename(path), "label": label, "sop": ds.SOPInstanceUID,
            "bytes": os.path.getsize(path),
            "ref_bytes": os.path.getsize(out) if ok else os.path.getsize(path),
            "ref_refused": None if ok else (r.stderr.strip().splitlines() or ["?"])[-1][:60],
        })
        if os.path.exists(out):
            os.remove(out)
    with open(os.path.join(work, "images.json"), "w") as f:
        json.dump(images, f, indent=1)


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as r:
        return r.read()


def hub(port, out):
    """Per instance Orthanc holds: the size of the file it stored (what came over the wire, less
    the HTTP multipart framing) and its transfer syntax, by SOP Instance UID."""
    held = {}
    for inst in json.loads(get(port, "/instances?expand")):
        ts = get(port, f"/instances/{inst['ID']}/metadata/TransferSyntax").decode()
        held[inst["MainDicomTags"]["SOPInstanceUID"]] = {"size": inst["FileSize"], "ts": ts}
    with open(out, "w") as f:
        json.dump(held, f)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def table(work, rate_kbit):
    """runs.tsv: one line per run: syntax round t_device t_first util link_bytes rss_kb hubfile."""
    images = json.load(open(os.path.join(work, "images.json")))
    native = sum(i["bytes"] for i in images)
    ref = sum(i["ref_bytes"] for i in images)
    runs = {}
    for line in open(os.path.join(work, "runs.tsv")):
        syntax, rnd, t_dev, t_first, util, link, rss, hubfile = line.split()
        runs.setdefault(syntax, []).append({
            "round": int(rnd), "t_dev": float(t_dev), "t_first": float(t_first),
            "util": float(util), "link": int(link), "rss": int(rss),
            "hub": json.load(open(hubfile)),
        })
    print(f"| `transfer_syntax` | rounds | time to verified, from the device's first image (median; rounds) "
          f"| from the first upload byte | link utilisation | link bytes / original bytes "
          f"| hub's files / original bytes | station peak RSS |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for syntax, rs in runs.items():
        rounds = ", ".join(f"{r['t_dev']:.1f}" for r in rs)
        hub_bytes = [sum(r["hub"][i["sop"]]["size"] for i in images) for r in rs]
        print(f"| {syntax} | {len(rs)} | {median([r['t_dev'] for r in rs]):.1f} s "
              f"({rounds}) "
              f"| {median([r['t_first'] for r in rs]):.1f} s "
              f"| {100 * median([r['util'] for r in rs]):.0f}% "
              f"| {median([r['link'] for r in rs]) / native:.3f} "
              f"| {median(hub_bytes) / native:.3f} "
              f"| {max(r['rss'] for r in rs) / 1024:.0f} MB |")
    print(f"| reference: the same files through `dcmcjpls` (no link) | | | | | "
          f"| {ref / native:.3f} | |")
    print(f"\n{len(images)} images, {native / 1e6:.1f} MB; {rate_kbit} kbit/s could carry them in "
          f"{native * 8 / (rate_kbit * 1000):.1f} s.")
    # Station and reference on the same footing: only the images the station did compress.
    for s, rs in runs.items():
        done = [i for i in images if rs[-1]["hub"][i["sop"]]["ts"] == JPEG_LS_LOSSLESS]
        if done and len(done) < len(images):
            n = sum(i["bytes"] for i in done)
            print(f"{s}: over the {len(done)} images the station sent compressed ({n / 1e6:.1f} MB), "
                  f"the hub's files are {sum(rs[-1]['hub'][i['sop']]['size'] for i in done) / n:.3f} "
                  f"of the originals, dcmcjpls's {sum(i['ref_bytes'] for i in done) / n:.3f}.")
    # Per image, from the last round of each setting: what the hub stored, in which syntax.
    names = list(runs)
    print("\n| image | original KB | " + " | ".join(f"at the hub, {s}" for s in names)
          + " | `dcmcjpls` |")
    print("|---|---:|" + "---:|" * (len(names) + 1))
    for i in images:
        cells = []
        for s in names:
            h = runs[s][-1]["hub"][i["sop"]]
            tag = " JPEG-LS" if h["ts"] == JPEG_LS_LOSSLESS else ""
            cells.append(f"{h['size'] / i['bytes']:.3f}{tag}")
        refc = "refused" if i["ref_refused"] else f"{i['ref_bytes'] / i['bytes']:.3f}"
        print(f"| {i['label']} | {i['bytes'] / 1000:.0f} | " + " | ".join(cells) + f" | {refc} |")


def cine(out, raw, frames):
    header, native = write_cine(raw, out, new_uids=True, frames=frames)
    print(header.SOPInstanceUID, native)


def check_cine(port, original):
    """Fetches the hub's copy and compares every decoded frame with the original's."""
    sop = pydicom.dcmread(original, stop_before_pixels=True).SOPInstanceUID
    found = json.loads(get(port, "/instances?expand"))
    inst = next(i for i in found if i["MainDicomTags"]["SOPInstanceUID"] == sop)
    ts = get(port, f"/instances/{inst['ID']}/metadata/TransferSyntax").decode()
    with tempfile.NamedTemporaryFile(suffix=".dcm") as held:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/instances/{inst['ID']}/file",
                                    timeout=300) as r:
            shutil.copyfileobj(r, held)
        held.flush()
        a = pydicom.dcmread(held.name)
        b = pydicom.dcmread(original)
        n = int(b.NumberOfFrames)
        same = np.array_equal(a.pixel_array, b.pixel_array)
        print(f"{ts} {inst['FileSize']} {n} {'exact' if same else 'DIFFERENT'}")


cmd = sys.argv[1]
if cmd == "vendor":
    vendor(sys.argv[2])
elif cmd == "reference":
    reference(sys.argv[2], sys.argv[3:])
elif cmd == "hub":
    hub(sys.argv[2], sys.argv[3])
elif cmd == "table":
    table(sys.argv[2], int(sys.argv[3]))
elif cmd == "cine":
    cine(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else CINE_FRAMES)
elif cmd == "check-cine":
    check_cine(sys.argv[2], sys.argv[3])
else:
    sys.exit(__doc__)
