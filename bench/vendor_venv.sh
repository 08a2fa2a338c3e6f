# Sourced by the benchmarks that use real vendor images (bench/codec.sh, bench/slowlink.sh):
# makes the venv with pydicom, pydicom-data (the images), and the JPEG-LS / JPEG 2000 plugins,
# pinned, from PyPI at run time (never committed), and sets VENV_PY to its python. The images
# themselves are listed in bench/vendor_images.py.
#
#   . bench/vendor_venv.sh && "$VENV_PY" -c 'import vendor_images'
venv="${STATION_BENCH_VENV:-$HOME/.cache/station-bench-venv}"
if ! "$venv/bin/python" -c 'import pydicom, data_store, jpeg_ls, openjpeg, pylibjpeg, numpy' 2>/dev/null; then
  python3 -c 'import venv, ensurepip' 2>/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  }
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check pydicom==3.0.2 pydicom-data==1.0.0 \
    pylibjpeg==2.1.0 pylibjpeg-openjpeg==2.6.0 pyjpegls==1.5.1 numpy==2.4.6
fi
VENV_PY="$venv/bin/python"
