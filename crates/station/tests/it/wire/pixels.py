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
    # An Explicit VR Big Endian original reads as a big-endian array (dtype >u2): its values,
    # not its byte order, are what must match, so both are compared in native order.
    pa = a.pixel_array
    pa = pa.astype(pa.dtype.newbyteorder("="))
    pb = b.pixel_array
    pb = pb.astype(pb.dtype.newbyteorder("="))
    result.append({
        "original": original,
        "transfer_syntax": str(b.file_meta.TransferSyntaxUID),
        "equal": bool(pa.shape == pb.shape and pa.dtype == pb.dtype and np.array_equal(pa, pb)),
        "shape": list(pb.shape),
        "dtype": str(pb.dtype),
    })
print(json.dumps(result))
