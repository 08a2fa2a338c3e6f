"""Query/Retrieve benchmark (driven by bench/qr.sh; not a test).

1. C-FIND latency at 10,000 studies: one small demo radiograph written 10,000 times under new
   study, series, SOP and patient identifiers (same byte lengths, so the file stays valid), sent
   with storescu to the station and to Orthanc; findscu wall time (process start to exit,
   median of ROUNDS) for typical workstation queries, on both.
2. C-MOVE and C-GET throughput: the largest study of the full-size demo day, in both; movescu to
   a DCMTK storescp and getscu into a folder, MB/s of the study's files (median of ROUNDS),
   every round checked: all instances arrived.

Prints Markdown tables. Everything is on 127.0.0.1, on free ports, in WORK; only the processes
started here are stopped, each by its own handle, with bounded waits.
"""

import atexit
import os
import socket
import statistics
import subprocess
import sys
import time

STATION, WORK, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3])
STUDIES = int(os.environ.get("BENCH_STUDIES", "10000"))
DCMTK = "/usr/bin"
LIVE = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what):
    for _ in range(600):  # at most 60 s
        if proc.poll() is not None:
            sys.exit(f"FAIL: {what} exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"FAIL: {what} did not listen on {port}")


def start(cmd, log, what, port):
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    LIVE.append(proc)
    wait_port(port, proc, what)
    return proc


def stop_all():
    live = LIVE[:]
    LIVE.clear()
    for p in live:
        p.terminate()
    for p in live:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)


# Also on a failure (sys.exit): no server outlives the run.
atexit.register(stop_all)


def run(cmd, what, timeout=1800):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        sys.exit(f"FAIL: {what}: {r.stderr[-2000:]}{r.stdout[-2000:]}")
    return r.stdout + r.stderr


def value(path, tag):
    out = run([f"{DCMTK}/dcmdump", "-q", "+P", tag, path], f"dcmdump {tag}")
    line = next(l for l in out.splitlines() if l.startswith("("))
    return line[line.index("[") + 1 : line.rindex("]")]


def timed(cmd, what):
    t0 = time.perf_counter()
    out = run(cmd, what)
    return time.perf_counter() - t0, out


def median_ms(samples):
    return statistics.median(samples) * 1000


# --- the data ---------------------------------------------------------------------------------
run([STATION, "demo", "--out", f"{WORK}/small", "--small", "--seed", "5"], "station demo --small")
run([STATION, "demo", "--out", f"{WORK}/full", "--seed", "5"], "station demo")
small = sorted(
    os.path.join(d, f) for d, _, fs in os.walk(f"{WORK}/small") for f in fs if f.endswith(".dcm")
)
dx = next(f for f in small if value(f, "0008,0060") == "DX")
template = open(dx, "rb").read()
olds = {t: value(dx, t) for t in ("0020,000d", "0020,000e", "0008,0018", "0010,0020")}


def same_length_uid(old, n, salt):
    digits = len(old) - len("2.25.")
    return "2.25." + str(10 ** (digits - 1) + n * 1009 + salt)


many = f"{WORK}/many"
os.makedirs(many)
for n in range(STUDIES):
    data = template
    for tag, salt in (("0020,000d", 1), ("0020,000e", 2), ("0008,0018", 3)):
        new = same_length_uid(olds[tag], n, salt)
        assert len(new) == len(olds[tag])
        data = data.replace(olds[tag].encode(), new.encode())
    pid = olds["0010,0020"]
    data = data.replace(pid.encode(), ("Q" + str(n).zfill(len(pid) - 1)).encode())
    with open(f"{many}/{n:05}.dcm", "wb") as f:
        f.write(data)
print(f"{STUDIES} studies of one {len(template) // 1024} kB radiograph each", file=sys.stderr)

full = sorted(
    os.path.join(d, f) for d, _, fs in os.walk(f"{WORK}/full") for f in fs if f.endswith(".dcm")
)
by_study = {}
for f in full:
    by_study.setdefault(value(f, "0020,000d"), []).append(f)
study, files = max(by_study.items(), key=lambda kv: sum(os.path.getsize(f) for f in kv[1]))
study_mb = sum(os.path.getsize(f) for f in files) / 1e6

# --- the servers ------------------------------------------------------------------------------
ws_port = free_port()
ws_dir = f"{WORK}/ws"
os.makedirs(ws_dir)
start([f"{DCMTK}/storescp", "-aet", "WS", "-od", ws_dir, str(ws_port)], f"{WORK}/storescp.log", "storescp", ws_port)

st_port, st_http = free_port(), free_port()
with open(f"{WORK}/station.toml", "w") as f:
    f.write(f"""[dicom]
bind = "127.0.0.1"
query_callers = ["VIEWER"]
[[dicom.move_destinations]]
ae_title = "WS"
host = "127.0.0.1"
port = {ws_port}
[http]
port = {st_http}
bind = "127.0.0.1"
[storage]
min_free_mb = 0
high_water_percent = 100
low_water_percent = 99
""")
start(
    [STATION, "serve", "--config", f"{WORK}/station.toml", "--data-dir", f"{WORK}/station", "--dicom-port", str(st_port)],
    f"{WORK}/station.log",
    "station",
    st_port,
)
or_port, or_http = free_port(), free_port()
with open(f"{WORK}/orthanc.json", "w") as f:
    f.write(f"""{{ "Name": "bench", "StorageDirectory": "{WORK}/o/s", "IndexDirectory": "{WORK}/o/i",
  "DicomAet": "STATION", "DicomPort": {or_port}, "HttpPort": {or_http}, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "DicomCheckCalledAet": false,
  "DicomModalities": {{ "WS": ["WS", "127.0.0.1", {ws_port}], "VIEWER": ["VIEWER", "127.0.0.1", {free_port()}] }} }}""")
start(["/usr/sbin/Orthanc", f"{WORK}/orthanc.json"], f"{WORK}/orthanc.log", "Orthanc", or_port)
servers = {"station": st_port, "Orthanc": or_port}

for name, port in servers.items():
    t, _ = timed([f"{DCMTK}/storescu", "-aet", "DEV", "-aec", "STATION", "+sd", "127.0.0.1", str(port), many], f"storescu to {name}")
    print(f"{name}: stored {STUDIES} studies in {t:.0f} s", file=sys.stderr)
    run([f"{DCMTK}/storescu", "-aet", "DEV", "-aec", "STATION", "127.0.0.1", str(port), *files], f"storescu to {name}")

# --- C-FIND latency ---------------------------------------------------------------------------
base = [f"{DCMTK}/findscu", "-S", "-aet", "VIEWER", "-aec", "STATION"]
queries = {
    "STUDY by Patient ID (1 match)": ["-k", "QueryRetrieveLevel=STUDY", "-k", f"PatientID=Q{str(STUDIES // 2).zfill(8)}", "-k", "StudyInstanceUID", "-k", "PatientName"],
    "STUDY by date range holding none (every study looked at)": ["-k", "QueryRetrieveLevel=STUDY", "-k", "StudyDate=19000101-19000102", "-k", "StudyInstanceUID"],
    "STUDY by name wildcard + ModalitiesInStudy (all match)": ["-k", "QueryRetrieveLevel=STUDY", "-k", "SpecificCharacterSet=ISO_IR 192", "-k", "PatientName=*", "-k", "ModalitiesInStudy=DX", "-k", "StudyInstanceUID", "-k", "NumberOfStudyRelatedInstances"],
    "SERIES of one study": ["-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={study}", "-k", "SeriesInstanceUID", "-k", "Modality"],
}
print(f"\n### C-FIND latency, {STUDIES + 1} studies (findscu wall time, median of {ROUNDS})\n")
print("| query | station ms | Orthanc ms | answers |")
print("| --- | ---: | ---: | ---: |")
for label, keys in queries.items():
    row = []
    answers = None
    for name, port in servers.items():
        samples = []
        for _ in range(ROUNDS):
            t, out = timed([*base, "-v", *keys, "127.0.0.1", str(port)], f"findscu {label} to {name}")
            samples.append(t)
            n = out.count("Find Response") - 1
        if answers is None:
            answers = n
        elif answers != n:
            print(f"note: {label}: station {answers} answers, Orthanc {n}", file=sys.stderr)
        row.append(median_ms(samples))
    print(f"| {label} | {row[0]:.0f} | {row[1]:.0f} | {answers} |")

# --- C-MOVE and C-GET throughput ----------------------------------------------------------------
print(f"\n### Retrieve throughput: one study, {len(files)} instances, {study_mb:.0f} MB (median of {ROUNDS})\n")
print("| retrieve | station s | station MB/s | Orthanc s | Orthanc MB/s |")
print("| --- | ---: | ---: | ---: | ---: |")


def count_files(d):
    return sum(len(fs) for _, _, fs in os.walk(d))


results = {}
for kind in ("C-MOVE to storescp", "C-GET into getscu"):
    for name, port in servers.items():
        samples = []
        for r in range(ROUNDS):
            out_dir = f"{WORK}/{kind[:6]}-{name}-{r}"
            os.makedirs(out_dir)
            # The receiver names files by SOP Instance UID: start each round from an empty folder.
            for f in os.listdir(ws_dir):
                os.remove(os.path.join(ws_dir, f))
            common = ["-S", "-aet", "VIEWER", "-aec", "STATION", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}"]
            if kind.startswith("C-MOVE"):
                t, out = timed([f"{DCMTK}/movescu", "-v", *common, "-aem", "WS", "127.0.0.1", str(port)], f"movescu from {name}")
                got = count_files(ws_dir)
            else:
                t, out = timed([f"{DCMTK}/getscu", "-v", *common, "-od", out_dir, "127.0.0.1", str(port)], f"getscu from {name}")
                got = count_files(out_dir)
            if got != len(files):
                sys.exit(f"FAIL: {kind} from {name}: {got} of {len(files)} instances arrived\n{out[-3000:]}")
            samples.append(t)
        results[(kind, name)] = statistics.median(samples)
    s, o = results[(kind, "station")], results[(kind, "Orthanc")]
    print(f"| {kind} | {s:.2f} | {study_mb / s:.0f} | {o:.2f} | {study_mb / o:.0f} |")

