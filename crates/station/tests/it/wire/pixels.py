"""Compares the pixels of each original with the hub's copy (pydicom, with pyjpegls and
pylibjpeg-openjpeg decoding JPEG-LS and JPEG 2000): prints one JSON object per pair.

Usage: pixels.py ORIGINAL,HUB_COPY [...]
"""
import json
import sys

import numpy as np
import pydicom

result = []
for pair in sys.argv[1:]:
    original, copy = pair.split(",")
    a = pydicom.dcmread(original)
    b = pydicom.dcmread(copy)
    pa = a.pixel_array
    pb = b.pixel_array
    result.append({
        "original": original,
        "transfer_syntax": str(b.file_meta.TransferSyntaxUID),
        "equal": bool(pa.shape == pb.shape and pa.dtype == pb.dtype and np.array_equal(pa, pb)),
        "shape": list(pb.shape),
        "dtype": str(pb.dtype),
    })
print(json.dumps(result))
