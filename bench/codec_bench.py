"""The measurements behind bench/codec.sh (run it through that script).

Real vendor images (pydicom's and pydicom-data's test files: Philips/Fuji CR, Philips MR, GE
ultrasound, a CT, ...) are encoded by station-codec (JPEG-LS and JPEG 2000, through the
encode_raw example) and, on the same files in the same run, by DCMTK's dcmcjpls (JPEG-LS) and by
pydicom with pylibjpeg-openjpeg (JPEG 2000). Then a ~300 MB RGB cine made from the GE ultrasound
frame is encoded to show peak memory. Every process is timed with /usr/bin/time (CPU seconds,
wall seconds, peak RSS); CPU time is the median of the rounds.
"""

import os
import statistics
import subprocess
import sys
import tempfile

import pydicom
from pydicom.uid import JPEG2000Lossless

ENCODE_RAW, WORK, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3])

from vendor_images import FILES, write_cine  # noqa: E402  (bench/vendor_images.py, beside this file)


def timed(argv):
    """Runs argv under /usr/bin/time: (stdout, cpu seconds, wall seconds, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        out = subprocess.run(["/usr/bin/time", "-f", "%U %S %e %M", "-o", t.name] + argv,
                             check=True, capture_output=True, text=True).stdout
        user, system, wall, rss = t.read().split()[-4:]
    return out, float(user) + float(system), float(wall), int(rss) / 1024


def describe(ds, raw_len, vr=None):
    ts = ds.file_meta.TransferSyntaxUID
    fields = {
        "transfer_syntax_uid": ts,
        "pixel_data_length": raw_len,
        "rows": ds.Rows, "columns": ds.Columns, "samples_per_pixel": ds.SamplesPerPixel,
        "bits_allocated": ds.BitsAllocated, "bits_stored": ds.BitsStored,
        "high_bit": ds.HighBit, "pixel_representation": ds.PixelRepresentation,
        "photometric_interpretation": ds.PhotometricInterpretation,
    }
    if not ts.is_implicit_VR:
        fields["pixel_data_vr"] = vr or ds["PixelData"].VR
    if "PlanarConfiguration" in ds:
        fields["planar_configuration"] = ds.PlanarConfiguration
    if "NumberOfFrames" in ds:
        fields["number_of_frames"] = int(ds.NumberOfFrames)
    return "".join(f"{k}={v}\n" for k, v in fields.items())


def ours(codec, desc, raw):
    out = os.path.join(WORK, "out.value")
    runs = [timed([ENCODE_RAW, codec, desc, raw, out]) for _ in range(ROUNDS)]
    line = runs[0][0].strip()
    if line.startswith("refused"):
        return {"refused": line.split("code=")[1].split()[0]}
    kv = dict(x.split("=", 1) for x in line.split()[1:])
    return {"bytes": int(kv["encapsulated_bytes"]), "cpu": statistics.median(r[1] for r in runs),
            "rss": max(r[3] for r in runs)}


def encapsulated_len(path):
    ds = pydicom.dcmread(path)
    return len(ds.PixelData) + 8  # pydicom keeps the value without its Sequence Delimitation Item


def dcmtk(path):
    out = os.path.join(WORK, "dcmtk.dcm")
    try:
        runs = [timed(["/usr/bin/dcmcjpls", path, out]) for _ in range(ROUNDS)]
    except subprocess.CalledProcessError as e:
        return {"refused": (e.stderr or "").strip().splitlines()[-1][:40]}
    return {"bytes": encapsulated_len(out), "cpu": statistics.median(r[1] for r in runs),
            "rss": max(r[3] for r in runs)}


def pydicom_j2k(path):
    ds = pydicom.dcmread(path)
    try:
        ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    except Exception as e:  # the reference encoder's own refusals
        return {"refused": type(e).__name__}
    return {"bytes": len(ds.PixelData) + 8}


def fmt(r, native):
    if "refused" in r:
        return f"refused ({r['refused']})"
    return f"{100 * r['bytes'] / native:5.1f}%"


def speed(r, native):
    return f"{native / 2**20 / r['cpu']:6.1f}" if "cpu" in r and r["cpu"] > 0 else "   -"


def real_images():
    print("| image | native MB | JPEG-LS (ours) | JPEG-LS (dcmcjpls) | JPEG 2000 (ours) | JPEG 2000 (pydicom+OpenJPEG) | MB/s/core ours JLS / dcmcjpls / ours J2K |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    totals = {"native": 0, "jls": 0, "dcmtk": 0, "j2k": 0, "ref": 0}
    cpu = {"jls": 0.0, "dcmtk": 0.0, "j2k": 0.0}
    for folder, name, label in FILES:
        path = os.path.join(folder, name)
        ds = pydicom.dcmread(path)
        raw = os.path.join(WORK, name + ".raw")
        desc = os.path.join(WORK, name + ".desc")
        value = ds.PixelData
        with open(raw, "wb") as f:
            f.write(value)
        with open(desc, "w") as f:
            f.write(describe(ds, len(value)))
        native = len(value)
        jls, j2k = ours("jpeg-ls-lossless", desc, raw), ours("jpeg2000-lossless", desc, raw)
        dt, ref = dcmtk(path), pydicom_j2k(path)
        print(f"| {label} ({name}) | {native / 2**20:.2f} | {fmt(jls, native)} | {fmt(dt, native)} | "
              f"{fmt(j2k, native)} | {fmt(ref, native)} | {speed(jls, native)} / {speed(dt, native)} / {speed(j2k, native)} |")
        if all("bytes" in r for r in (jls, dt, j2k, ref)):
            totals["native"] += native
            for k, r in (("jls", jls), ("dcmtk", dt), ("j2k", j2k), ("ref", ref)):
                totals[k] += r["bytes"]
            for k, r in (("jls", jls), ("dcmtk", dt), ("j2k", j2k)):
                cpu[k] += r["cpu"]
    n = totals["native"]
    print()
    print(f"bytes out / bytes in over the images all four encoders took ({n / 2**20:.1f} MB): "
          f"JPEG-LS ours {totals['jls'] / n:.3f}, dcmcjpls {totals['dcmtk'] / n:.3f}; "
          f"JPEG 2000 ours {totals['j2k'] / n:.3f}, pydicom+OpenJPEG {totals['ref'] / n:.3f}")
    mb = n / 2**20
    print("MB/s per core over the same images (native MB / CPU seconds of the whole process, "
          "start-up and file I/O included; ours also decodes every frame again to verify it): "
          f"JPEG-LS ours {mb / cpu['jls']:.1f}, dcmcjpls {mb / cpu['dcmtk']:.1f}; "
          f"JPEG 2000 ours {mb / cpu['j2k']:.1f}")


def cine():
    """A ~300 MB RGB cine: the GE ultrasound frame, moving a little from frame to frame."""
    raw = os.path.join(WORK, "cine.raw")
    # The same cine as a Part-10 file for DCMTK.
    part10 = os.path.join(WORK, "cine.dcm")
    header, native = write_cine(raw, part10)
    frames = int(header.NumberOfFrames)
    desc = os.path.join(WORK, "cine.desc")
    with open(desc, "w") as f:
        f.write(describe(header, native, vr="OB"))
    print(f"\n300 MB cine ({frames} frames of 640x480 RGB, {native / 2**20:.0f} MB of pixels):")
    print("| encoder | bytes out / in | peak RSS MB | CPU s | wall s |")
    print("|---|---:|---:|---:|---:|")
    for codec in ("jpeg-ls-lossless", "jpeg2000-lossless"):
        out, cpu, wall, rss = timed([ENCODE_RAW, codec, desc, raw, os.path.join(WORK, "cine.value")])
        kv = dict(x.split("=", 1) for x in out.split()[1:])
        print(f"| ours {codec} | {int(kv['encapsulated_bytes']) / native:.3f} | {rss:.0f} | {cpu:.1f} | {wall:.1f} |")
    out = os.path.join(WORK, "cine-dcmtk.dcm")
    _, cpu, wall, rss = timed(["/usr/bin/dcmcjpls", part10, out])
    print(f"| dcmcjpls | {encapsulated_len(out) / native:.3f} | {rss:.0f} | {cpu:.1f} | {wall:.1f} |")


real_images()
cine()
