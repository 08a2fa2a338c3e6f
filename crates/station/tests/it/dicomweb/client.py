"""A third-party DICOMweb client (dicomweb-client, from PyPI) reads the station's own DICOMweb.

Usage: python client.py BASE_URL TOKEN STUDY_UID SERIES_UID SOP_UID
Prints one JSON object with what the client got; the Rust test compares it with what the
device sent. Exits non-zero if the client cannot read something it should.
"""
import hashlib
import json
import sys

import requests
from dicomweb_client.api import DICOMwebClient

base, token, study, series, sop = sys.argv[1:6]
client = DICOMwebClient(url=f"{base}/dicom-web", headers={"Authorization": f"Bearer {token}"})
out = {}

studies = client.search_for_studies(search_filters={"StudyInstanceUID": study})
out["studies"] = [s["0020000D"]["Value"][0] for s in studies]
out["patient_name"] = studies[0]["00100010"]["Value"][0]["Alphabetic"]
out["series"] = [s["0020000E"]["Value"][0] for s in client.search_for_series(study)]
out["instances"] = [
    i["00080018"]["Value"][0] for i in client.search_for_instances(study, series)
]
metadata = client.retrieve_series_metadata(study, series)
out["metadata_sops"] = [m["00080018"]["Value"][0] for m in metadata]
out["metadata_has_pixels"] = any("7FE00010" in m for m in metadata)

instance = client.retrieve_instance(study, series, sop)
out["instance_sop"] = str(instance.SOPInstanceUID)
out["instance_pixels_sha256"] = hashlib.sha256(instance.PixelData).hexdigest()

frames = client.retrieve_instance_frames(
    study, series, sop, frame_numbers=[1, 2], media_types=("application/octet-stream",)
)
out["frames_sha256"] = [hashlib.sha256(f).hexdigest() for f in frames]

rendered = client.retrieve_instance_rendered(study, series, sop, media_types=("image/png",))
out["rendered_png"] = rendered[:8] == b"\x89PNG\r\n\x1a\n"

stranger = DICOMwebClient(url=f"{base}/dicom-web")
try:
    stranger.search_for_studies()
    out["without_token"] = 200
except requests.exceptions.HTTPError as e:
    out["without_token"] = e.response.status_code

print(json.dumps(out))
