# Sourced by bench/slowlink.sh and bench/wirecine.sh: a fresh Orthanc hub and a fresh station
# sending to it with a given destination `transfer_syntax`, on loopback, and the helpers both
# use. The caller sets WORK (a temporary directory), PIDS (an array; its trap kills what is in
# it) and STATION (the binary).

need=()
[ -x /usr/bin/storescu ] || need+=(dcmtk)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
json() { python3 -c "import json,sys; print($1)"; }

# A fresh Orthanc with the DICOMweb plugin in $WORK/hub: sets OHTTP (its HTTP port) and OPID.
start_orthanc() {
  local h="$WORK/hub" odicom
  rm -rf "$h"; mkdir -p "$h"
  OHTTP=$(free_port); odicom=$(free_port)
  cat > "$h/o.json" <<J
{ "Name": "hub", "StorageDirectory": "$h/s", "IndexDirectory": "$h/i", "DicomAet": "HUB",
  "DicomPort": $odicom, "HttpPort": $OHTTP, "DicomCheckCalledAet": false, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"] }
J
  /usr/sbin/Orthanc "$h/o.json" >"$h/log" 2>&1 & OPID=$!; PIDS+=("$OPID")
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$OHTTP/system" >/dev/null && break; sleep 0.1; done
}

# A fresh station (data in $WORK/station, log in $WORK/station.log) whose one destination is
# HUB_URL with `transfer_syntax = SYNTAX`: sets SPORT (its DICOM port) and SPID.
start_station() { # HUB_URL SYNTAX
  rm -rf "$WORK/station"
  SPORT=$(free_port)
  cat > "$WORK/s.toml" <<T
[storage]
min_free_mb = 0
high_water_percent = 100
low_water_percent = 99
[studies]
quiet_period_secs = 1
[http]
port = $(free_port)
[[destinations]]
name = "hub"
url = "$1"
poll_reports = false
transfer_syntax = "$2"
${BENCH_BATCH_MB:+batch_mb = $BENCH_BATCH_MB}
T
  "$STATION" serve --config "$WORK/s.toml" --data-dir "$WORK/station" --dicom-port "$SPORT" 2>"$WORK/station.log" &
  SPID=$!; PIDS+=("$SPID")
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null && break; sleep 0.1; done
}

# Studies the station has not delivered yet, and instances Orthanc holds: "LEFT HELD".
delivery() {
  local left held
  left=$("$STATION" sync status --config "$WORK/s.toml" --data-dir "$WORK/station" --json | json 'sum(1 for x in json.load(sys.stdin) if x["state"] != "delivered")')
  held=$(curl -sf "http://127.0.0.1:$OHTTP/statistics" | json 'json.load(sys.stdin)["CountInstances"]')
  echo "$left $held"
}
