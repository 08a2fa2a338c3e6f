"""Real vendor images shared by the benchmarks (bench/codec.sh, bench/slowlink.sh): pydicom's and
pydicom-data's uncompressed test files, installed from PyPI into a venv at run time by
bench/vendor_venv.sh (never committed), and a ~300 MB RGB ultrasound-like cine made from the GE
ultrasound frame. Import it from a script run with that venv's python.
"""

import os

import numpy as np
import pydicom

import data_store  # pydicom-data

DATA = os.path.join(os.path.dirname(data_store.__file__), "data")
PYDICOM_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
# Uncompressed images from real devices (synthetic and test-pattern files left out):
# (folder, file name, label).
FILES = [
    (DATA, "RG1_UNCR.dcm", "CR Philips 15-bit"),
    (DATA, "RG3_UNCR.dcm", "CR Fuji 10-bit"),
    (DATA, "MR2_UNCR.dcm", "MR Philips 12-bit"),
    (DATA, "693_UNCR.dcm", "CT signed 14-bit"),
    (DATA, "JPEG2000_UNC.dcm", "NM GE signed 16-bit"),
    (DATA, "US1_UNCR.dcm", "US GE RGB"),
    (DATA, "OBXXXX1A.dcm", "US Philips palette"),
    (DATA, "OBXXXX1A_expb_2frame.dcm", "US Philips palette BE 2fr"),
    (DATA, "gdcm-US-ALOKA-16.dcm", "US Aloka palette 16-bit"),
    (DATA, "emri_small.dcm", "MR 10 frames"),
    (DATA, "MR-SIEMENS-DICOM-WithOverlays.dcm", "MR Siemens with overlays"),
    (DATA, "liver.dcm", "SEG 1-bit"),
    (PYDICOM_FILES, "CT_small.dcm", "CT GE signed 16-bit"),
    (PYDICOM_FILES, "MR_small.dcm", "MR signed 16-bit"),
]

CINE_FRAMES = 342  # 342 frames of 640 x 480 RGB: 300 MiB of pixels


def cine_source():
    """The GE ultrasound image the cine is made from."""
    return pydicom.dcmread(os.path.join(DATA, "US1_UNCR.dcm"))


def cine_frames(src, frames=CINE_FRAMES):
    """The cine's frames, one at a time: the GE frame moving a little from frame to frame."""
    frame = src.pixel_array  # 480 x 640 x 3
    for i in range(frames):
        yield np.roll(frame, (i % 40) - 20, axis=1).tobytes()


def write_cine(raw_path, part10_path=None, new_uids=False, frames=CINE_FRAMES):
    """Writes the cine's pixels to raw_path and, if asked, the cine as an explicit little endian
    Part-10 file (header, then Pixel Data streamed in, never whole in memory). Returns its header
    (a dataset without Pixel Data) and the pixel bytes."""
    src = cine_source()
    with open(raw_path, "wb") as f:
        for frame in cine_frames(src, frames):
            f.write(frame)
    native = os.path.getsize(raw_path)
    header = src.copy()
    del header.PixelData
    # Pixel Data is appended at the end: nothing may follow it (the GE file ends in padding).
    for tag in [e.tag for e in header if e.tag > 0x7FE00010]:
        del header[tag]
    header.NumberOfFrames = frames
    if new_uids:
        header.StudyInstanceUID = pydicom.uid.generate_uid()
        header.SeriesInstanceUID = pydicom.uid.generate_uid()
        header.SOPInstanceUID = pydicom.uid.generate_uid()
        header.file_meta.MediaStorageSOPInstanceUID = header.SOPInstanceUID
    if part10_path:
        header.save_as(part10_path, enforce_file_format=True)
        with open(part10_path, "ab") as f, open(raw_path, "rb") as r:
            f.write(b"\xe0\x7f\x10\x00OB\x00\x00" + native.to_bytes(4, "little"))
            while chunk := r.read(1 << 24):
                f.write(chunk)
    return header, native
