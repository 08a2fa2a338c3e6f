"""Checks compressed copies made by station-codec with other DICOM readers and decoders.

Reads a JSON list of cases; for each, the original (native) Part-10 file and the compressed one:
- pydicom parses the compressed file: transfer syntax, Photometric Interpretation, Planar
  Configuration as expected; the encapsulated Pixel Data has a Basic Offset Table with one
  offset per frame, each pointing at that frame's (single) fragment.
- pydicom decodes both files (its pyjpegls and pylibjpeg-openjpeg plug-ins, no colour
  conversion) and the arrays must be equal: same shape, dtype and every value. These wrap CharLS
  and OpenJPEG, the libraries we encode with: this checks the DICOM side as a reader sees it.
- "dcmtk": a file DCMTK's dcmdjpls decompressed from the compressed one (DCMTK's own JPEG-LS
  decoder and DICOM parser, as Orthanc uses them); it must decode to the original values too,
  and its Pixel Data must be the original's byte for byte (little-endian originals).
- "grok": each JPEG 2000 frame is also decoded by Grok's grk_decompress (a separately maintained
  JPEG 2000 codec), and must match.
Prints "ok <name>" per passing case and "FAIL <name>: <why>" otherwise; exits 1 on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.encaps import generate_fragments, generate_frames, parse_basic_offsets
from pydicom.pixels import pixel_array


def values(path):
    return pixel_array(path, raw=True)


def check_encapsulation(ds, frames):
    buf = ds.PixelData
    offsets = parse_basic_offsets(buf)
    if len(offsets) != frames:
        raise AssertionError(f"Basic Offset Table has {len(offsets)} offsets for {frames} frames")
    # Walk the fragment items ourselves: the first item after the table starts at offset 0.
    start = 8 + int.from_bytes(buf[4:8], "little")
    positions, pos = [], start
    while pos < len(buf):  # pydicom keeps the value without its Sequence Delimitation Item
        tag = buf[pos:pos + 4]
        length = int.from_bytes(buf[pos + 4:pos + 8], "little")
        if tag == b"\xfe\xff\xdd\xe0":
            break
        if tag != b"\xfe\xff\x00\xe0":
            raise AssertionError(f"unexpected tag {tag.hex()} at {pos}")
        if length % 2:
            raise AssertionError(f"fragment of odd length {length}")
        positions.append(pos - start)
        pos += 8 + length
    if positions != list(offsets):
        raise AssertionError(f"offsets {list(offsets)} but fragments at {positions}")
    fragments = list(generate_fragments(buf[start:]))
    if len(fragments) != frames:
        raise AssertionError(f"{len(fragments)} fragments for {frames} frames")
    if list(generate_frames(buf, number_of_frames=frames)) != fragments:
        raise AssertionError("the frames pydicom finds through the offset table are not the fragments")
    return fragments


def same(name, expected, actual):
    # A big-endian original decodes to a big-endian array: compare values, not byte order.
    expected = expected.astype(expected.dtype.newbyteorder("="))
    actual = actual.astype(actual.dtype.newbyteorder("="))
    if expected.shape != actual.shape:
        raise AssertionError(f"{name}: shape {actual.shape}, original {expected.shape}")
    if expected.dtype != actual.dtype:
        raise AssertionError(f"{name}: dtype {actual.dtype}, original {expected.dtype}")
    if not np.array_equal(expected, actual):
        diff = np.argwhere(expected != actual)
        raise AssertionError(f"{name}: {len(diff)} values differ, first at {diff[0].tolist()}")


def grok_frames(ds, fragments, original):
    """Decodes each JPEG 2000 fragment with grk_decompress and compares it with the original."""
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    signed = int(ds.PixelRepresentation) == 1
    with tempfile.TemporaryDirectory() as tmp:
        for i, frame in enumerate(fragments):
            src = os.path.join(tmp, f"{i}.j2k")
            out = os.path.join(tmp, f"{i}.rawl")
            with open(src, "wb") as f:
                f.write(frame[:-1] if frame.endswith(b"\xff\xd9\0") else frame)
            subprocess.run(["/usr/bin/grk_decompress", "-i", src, "-o", out],
                           check=True, capture_output=True)
            raw = open(out, "rb").read()
            bits = int(ds.BitsStored)
            dtype = (np.int8 if signed else np.uint8) if bits <= 8 else (np.dtype("<i2") if signed else np.dtype("<u2"))
            planes = np.frombuffer(raw, dtype=dtype).reshape(spp, int(ds.Rows), int(ds.Columns))
            decoded = planes[0] if spp == 1 else np.moveaxis(planes, 0, -1)
            want = original if frames == 1 else original[i]
            same(f"grok frame {i}", want, decoded.astype(want.dtype))


def main():
    cases = json.load(open(sys.argv[1]))
    failed = 0
    for case in cases:
        name = case["name"]
        try:
            ds = pydicom.dcmread(case["encoded"])
            if ds.file_meta.TransferSyntaxUID != case["transfer_syntax"]:
                raise AssertionError(f"transfer syntax {ds.file_meta.TransferSyntaxUID}")
            if ds.PhotometricInterpretation != case["photometric"]:
                raise AssertionError(f"Photometric Interpretation {ds.PhotometricInterpretation}")
            if case["planar"] is not None and ds.PlanarConfiguration != case["planar"]:
                raise AssertionError(f"Planar Configuration {ds.PlanarConfiguration}")
            fragments = check_encapsulation(ds, case["frames"])
            original = values(case["original"])
            same("pydicom", original, values(case["encoded"]))
            if case.get("dcmtk"):
                same("dcmdjpls", original, values(case["dcmtk"]))
                # What Orthanc hands out (its frames, its downloads) is DCMTK's decompressed
                # Pixel Data itself: the bits above High Bit must come back too.
                # (Compared by value only where the layouts differ: dcmdjpls writes little
                # endian, by pixel.)
                orig, back = pydicom.dcmread(case["original"]), pydicom.dcmread(case["dcmtk"])
                same_layout = (orig.file_meta.TransferSyntaxUID.is_little_endian
                               and orig.get("PlanarConfiguration", 0) == back.get("PlanarConfiguration", 0))
                if same_layout and back.PixelData[:len(orig.PixelData)] != orig.PixelData:
                    raise AssertionError("dcmdjpls: decompressed Pixel Data bytes differ from the original's")
            if case.get("grok"):
                grok_frames(ds, fragments, original)
            print(f"ok {name}")
        except Exception as e:  # report every case, then fail
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    sys.exit(1 if failed else 0)


main()
