"""Load benchmark: the service against a bare ASGI pixel app, both on uvicorn, in one run on loopback.

Starts bench/baseline.py and the service (`python -m app`, durable file sink in a temporary
folder) as subprocesses on free loopback ports, drives each case with wrk in another process,
samples the server's peak resident memory and CPU time from /proc while the load runs, and
prints the main cases at 64 connections with their ratios to the baseline, the targets, and
then throughput and latency by concurrency and by entities per event.

    python bench/run.py --plot bench/results.png   # full: 2 s warm-up + 10 s per case, median of 3; ~10 min
    python bench/run.py --short                      # CI: about 2 s per case, one pass; ~35 s
    python bench/run.py --duration 5 --repeats 1 --json results.json

It reports; it never fails on a number (exit 0 unless something could not run).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench.payloads` importable
    sys.path.insert(0, str(ROOT))

from bench import machine, payloads  # noqa: E402

MAIN_CONNECTIONS = 64
CONCURRENCY = (16, 64, 256)
ENTITY_COUNTS = (0, 1, 5)
BATCHES = (1, 10, 100)
SWEEP_BATCH = 10
TARGET_GET_RATIO = 0.5  # GET page view requests/s ÷ baseline requests/s
TARGET_POST10_RATIO = 1.5  # POST batch 10 events/s ÷ baseline requests/s
TARGET_RSS_MB = 150.0  # peak resident memory of the one worker under load
QUICK_WARMUP_REQUESTS = 30


# --- cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    server: str  # "baseline" or "service"
    method: str  # "GET" or "POST"
    batch: int = 1  # events per request
    entities: int = 1  # entities per event, in `cx`
    connections: int = MAIN_CONNECTIONS

    @property
    def name(self) -> str:
        if self.server == "baseline":
            return "baseline GET pixel"
        return "GET page view" if self.method == "GET" else f"POST batch {self.batch}"

    @property
    def label(self) -> str:
        return f"{self.name} c={self.connections} e={self.entities}"

    @property
    def path(self) -> str:
        if self.method == "GET":
            return f"{payloads.PIXEL_PATH}?{payloads.get_query(self.entities)}"
        return payloads.TP2_PATH

    @property
    def headers(self) -> dict[str, str]:
        return payloads.GET_HEADERS if self.method == "GET" else payloads.POST_HEADERS

    def body(self) -> bytes:
        return payloads.post_body(self.batch, self.entities) if self.method == "POST" else b""


def baseline(connections: int = MAIN_CONNECTIONS) -> Case:
    # The bare app is sent the same page-view request as the service, so both parse the same bytes.
    return Case("baseline", "GET", connections=connections)


def main_cases() -> list[Case]:
    return [baseline(), Case("service", "GET")] + [Case("service", "POST", batch) for batch in BATCHES]


def concurrency_cases() -> list[Case]:
    return [
        case
        for connections in CONCURRENCY
        for case in (
            baseline(connections),
            Case("service", "GET", connections=connections),
            Case("service", "POST", SWEEP_BATCH, connections=connections),
        )
    ]


def entity_cases() -> list[Case]:
    return [Case("service", "GET", entities=n) for n in ENTITY_COUNTS] + [
        Case("service", "POST", SWEEP_BATCH, entities=n) for n in ENTITY_COUNTS
    ]


def all_cases() -> list[Case]:
    """Every case once, the heaviest (most records in flight) last, so that memory Python keeps
    after them shows in as few other cases' peak RSS as possible when the service is not restarted."""
    cases = list(dict.fromkeys(main_cases() + concurrency_cases() + entity_cases()))
    return sorted(cases, key=lambda case: case.server == "service" and case.batch * case.connections >= 1000)


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    data_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(name: str, command: list[str], env: dict[str, str], workdir: Path, ready_path: str) -> Server:
    port = free_port()
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command + ["--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(name, port, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + ready_path, timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} did not start in 30 s:\n{server.log()}")


def start_baseline(workdir: Path) -> Server:
    command = [sys.executable, str(ROOT / "bench" / "baseline.py"), "--host", "127.0.0.1"]
    return start_server("baseline", command, dict(os.environ), workdir, "/i")


def start_service(workdir: Path) -> Server:
    """The service as deployed: `python -m app`, one worker, default settings, file sink under workdir."""
    data_dir = workdir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(COLLECTOR_DRAIN_SECONDS="0", COLLECTOR_LOG_LEVEL="warning")
    command = [sys.executable, "-m", "app", "--host", "127.0.0.1", "--workers", "1", "--data-dir", str(data_dir)]
    server = start_server("service", command, env, workdir, "/health")
    server.data_dir = data_dir
    return server


def restart_service(service: Server, workdir: Path, step: int) -> Server:
    """A new service process with an empty data dir: the next case's peak RSS is its own."""
    service.stop()
    if service.data_dir is not None:
        shutil.rmtree(service.data_dir, ignore_errors=True)
    fresh = workdir / f"service-{step:03d}"
    fresh.mkdir()
    return start_service(fresh)


def count_records(folder: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in folder.iterdir() if not path.name.startswith("."))


def drop_sealed_files(data_dir: Path) -> None:
    """Keep the disk from filling in a long run: sealed files are never written again."""
    for path in [*data_dir.glob("*/*.jsonl"), *data_dir.glob("*/*.tsv")]:
        path.unlink(missing_ok=True)


def send(server: Server, case: Case, times: int = 1) -> None:
    """Requests one at a time on one keep-alive connection; every answer must be a 200."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = case.body() or None
    try:
        for _ in range(times):
            connection.request(case.method, case.path, body=body, headers=case.headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{case.label} on {server.name}: HTTP {response.status}")
    finally:
        connection.close()


def preflight(service: Server, cases: list[Case]) -> None:
    """Each payload once: it must be stored as good events, never as bad rows."""
    assert service.data_dir is not None
    good_before = count_records(service.data_dir / "good")
    expected = 0
    for case in dict.fromkeys(Case("service", c.method, c.batch, c.entities) for c in cases if c.server == "service"):
        send(service, case)
        expected += case.batch
    bad = count_records(service.data_dir / "bad")
    good = count_records(service.data_dir / "good") - good_before
    if bad or good != expected:
        sample = next(iter(sorted((service.data_dir / "bad").glob("*.jsonl*"))), None)
        detail = sample.read_text()[:2000] if sample else ""
        raise RuntimeError(f"payload check: {good} good (expected {expected}), {bad} bad rows\n{detail}")


# --- measuring -----------------------------------------------------------------------------


class PeakRss:
    """The largest resident set of a process while the load runs, from /proc/<pid>/status.

    It polls VmRSS, and also resets the kernel's high-water mark (VmHWM) at the start when it
    may, so a spike shorter than the polling interval is still seen.
    """

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _read(self) -> dict[str, int]:
        values = {}
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith(("VmRSS:", "VmHWM:")):
                        values[line[:5]] = int(line.split()[1])
        except OSError:
            pass
        return values

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self._read().get("VmRSS", 0))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakRss:
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as clear:
                clear.write("5")  # reset VmHWM to the current RSS
            self._hwm_reset = True
        except OSError:
            self._hwm_reset = False
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()
        last = self._read()
        self.peak_kb = max(self.peak_kb, last.get("VmRSS", 0))
        if self._hwm_reset:
            self.peak_kb = max(self.peak_kb, last.get("VmHWM", 0))

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def lua_string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= ord(char) < 127:
            out.append(char)
        else:
            out.extend(f"\\{byte}" for byte in char.encode())
    return "".join(out) + '"'


WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def wrk_script(case: Case, workdir: Path) -> Path:
    """A Lua script for wrk: the case's method, path, headers and body, and a machine-readable done()."""
    stem = f"{case.method.lower()}-b{case.batch}-e{case.entities}"
    lines = [f"wrk.method = {lua_string(case.method)}", f"wrk.path = {lua_string(case.path)}"]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in case.headers.items()]
    if case.method == "POST":
        body_path = workdir / f"{stem}.json"
        body_path.write_bytes(case.body())
        lines.append(f'local body_file = assert(io.open({lua_string(str(body_path))}, "rb"))')
        lines.append('wrk.body = body_file:read("*a")')
        lines.append("body_file:close()")
    script = workdir / f"{stem}.lua"
    script.write_text("\n".join(lines) + "\n" + WRK_DONE)
    return script


def run_wrk(url: str, script: Path, connections: int, seconds: int, threads: int) -> dict[str, Any]:
    command = [
        "wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{seconds}s",
        "--timeout", "10s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT ") :])
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    requests_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    rss_mb: float
    errors: int
    cpu_us_per_event: float  # server CPU (all threads) per stored event: steadier than req/s on a busy machine


def measure(case: Case, server: Server, script: Path, seconds: int, warmup_s: int, threads: int) -> Sample:
    if warmup_s > 0:
        run_wrk(server.url, script, case.connections, warmup_s, threads)
    else:
        send(server, case, QUICK_WARMUP_REQUESTS)
    cpu_before = cpu_seconds(server.process.pid)
    with PeakRss(server.process.pid) as rss:
        result = run_wrk(server.url, script, case.connections, seconds, threads)
    cpu_used = cpu_seconds(server.process.pid) - cpu_before
    duration_s = result["duration_us"] / 1e6
    errors = sum(result[key] for key in ("connect", "read", "write", "status", "timeout"))
    ok = max(0, result["requests"] - result["status"])
    return Sample(
        requests_per_s=result["requests"] / duration_s,
        events_per_s=ok * case.batch / duration_s,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        rss_mb=rss.peak_mb,
        errors=errors,
        cpu_us_per_event=cpu_used * 1e6 / max(1, ok * case.batch),
    )


@dataclass
class Result:
    case: Case
    samples: list[Sample]

    def median(self, name: str) -> float:
        return statistics.median(getattr(sample, name) for sample in self.samples)

    @property
    def rss_mb(self) -> float:
        return max(sample.rss_mb for sample in self.samples)

    @property
    def errors(self) -> int:
        return sum(sample.errors for sample in self.samples)


def run_all(
    cases: list[Case], servers: dict[str, Server], args: argparse.Namespace, workdir: Path
) -> dict[Case, Result]:
    scripts = {case: wrk_script(case, workdir) for case in cases}
    results = {case: Result(case, []) for case in cases}
    total = len(cases) * args.repeats
    step = 0
    for _ in range(args.repeats):  # repeats go round all cases, so slow spells of a noisy machine spread out
        for case in cases:
            step += 1
            if args.fresh and case.server == "service" and step > 1:
                servers["service"] = restart_service(servers["service"], workdir, step)
            server = servers[case.server]
            sample = measure(case, server, scripts[case], args.duration, args.warmup, args.threads)
            results[case].samples.append(sample)
            if server.data_dir is not None:
                drop_sealed_files(server.data_dir)
            print(
                f"[{step:>3}/{total}] {case.label:<32} {sample.requests_per_s:>9.0f} req/s "
                f"{sample.events_per_s:>9.0f} events/s  p99 {sample.p99_ms:6.2f} ms  {sample.rss_mb:6.1f} MB"
                + (f"  {sample.errors} errors" if sample.errors else ""),
                file=sys.stderr,
                flush=True,
            )
            for name, running in servers.items():
                if running.process.poll() is not None:
                    raise RuntimeError(f"{name} died during {case.label}:\n{running.log()}")
    return results


# --- reporting -----------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(cell).ljust(width) if index < left else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths])] + [line(row) for row in rows])


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def report(results: dict[Case, Result], args: argparse.Namespace, info: dict[str, str]) -> tuple[str, dict[str, Any]]:
    def base(connections: int, metric: str = "requests_per_s") -> float:
        return results[baseline(connections)].median(metric)

    def metrics(case: Case) -> list[str]:
        result = results[case]
        return [
            f"{result.median('requests_per_s'):,.0f}",
            f"{result.median('events_per_s'):,.0f}",
            f"{result.median('p50_ms'):.2f}",
            f"{result.median('p99_ms'):.2f}",
            f"{result.rss_mb:.1f}",
            f"{result.median('cpu_us_per_event'):.0f}",
        ]

    out = [
        machine.summary(info),
        f"mode: {'short' if args.short else 'full'}; {args.duration} s per case after "
        + (f"{args.warmup} s warm-up" if args.warmup > 0 else f"{QUICK_WARMUP_REQUESTS} warm-up requests")
        + f"; median of {args.repeats} repeat(s); wrk -t{args.threads}; one uvicorn worker each; durable file sink",
        "peak RSS: the server's largest resident set during the case"
        + (
            "; the service is restarted before each case"
            if args.fresh
            else "; heaviest cases run last (memory is kept across cases)"
        ),
        "CPU us/event: the server process's CPU time (all threads) per stored event; steadier than req/s on a busy machine",
        "",
        f"Main cases ({MAIN_CONNECTIONS} connections, 1 entity per event: client_session)",
    ]
    main_base = base(MAIN_CONNECTIONS)
    rows = []
    for case in main_cases():
        result = results[case]
        rows.append(
            [case.name, str(case.batch)] + metrics(case)
            + [ratio(result.median("requests_per_s"), main_base), ratio(result.median("events_per_s"), main_base), str(result.errors)]
        )  # fmt: skip
    headers = [
        "case",
        "events/req",
        "req/s",
        "events/s",
        "p50 ms",
        "p99 ms",
        "peak RSS MB",
        "CPU us/event",
        "req/s vs base",
        "events/s vs base",
        "errors",
    ]
    out += [table(headers, rows), ""]

    get, post10 = results[Case("service", "GET")], results[Case("service", "POST", SWEEP_BATCH)]
    get_ratio = get.median("requests_per_s") / main_base
    post_ratio = post10.median("events_per_s") / main_base
    # What the ratios would be if both servers were CPU-bound on a core of their own.
    base_cpu = base(MAIN_CONNECTIONS, "cpu_us_per_event")
    get_cpu_ratio = base_cpu / get.median("cpu_us_per_event")
    post_cpu_ratio = base_cpu / post10.median("cpu_us_per_event")
    service_rss = max(result.rss_mb for case, result in results.items() if case.server == "service")
    targets = [
        ["GET page view req/s / baseline req/s", f"{get_ratio:.2f}x", f"{get_cpu_ratio:.2f}x", f">= {TARGET_GET_RATIO}x", verdict(get_ratio >= TARGET_GET_RATIO)],
        ["POST batch 10 events/s / baseline req/s", f"{post_ratio:.2f}x", f"{post_cpu_ratio:.2f}x", f">= {TARGET_POST10_RATIO}x", verdict(post_ratio >= TARGET_POST10_RATIO)],
        ["service peak RSS under load, all cases", f"{service_rss:.1f} MB", "-", f"<= {TARGET_RSS_MB:.0f} MB", verdict(service_rss <= TARGET_RSS_MB)],
    ]  # fmt: skip
    out += [
        "Targets (one worker, durable file sink, ratios from this run)",
        table(["target", "measured", "by CPU cost", "goal", "result"], targets),
        "",
    ]

    headers = [
        "case",
        "conns",
        "entities",
        "req/s",
        "events/s",
        "p50 ms",
        "p99 ms",
        "peak RSS MB",
        "CPU us/event",
        "events/s vs base",
        "errors",
    ]
    sweeps = [
        (f"By concurrency (1 entity per event; POST: batches of {SWEEP_BATCH}; base: baseline at the same concurrency)", concurrency_cases()),
        (f"By entities per event ({MAIN_CONNECTIONS} connections; POST: batches of {SWEEP_BATCH})", entity_cases()),
    ]  # fmt: skip
    for title, cases in sweeps:
        rows = []
        for case in cases:
            result = results[case]
            entities = "-" if case.server == "baseline" else str(case.entities)
            rows.append(
                [case.name, str(case.connections), entities] + metrics(case)
                + [ratio(result.median("events_per_s"), base(case.connections)), str(result.errors)]
            )  # fmt: skip
        out += [title, table(headers, rows), ""]
    errors = sum(result.errors for result in results.values())
    if errors:
        out += [f"warning: {errors} failed requests (non-2xx, timeouts or socket errors); see the errors column"]

    data = {
        "machine": info,
        "mode": {
            "short": args.short,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "repeats": args.repeats,
            "wrk_threads": args.threads,
        },
        "targets": {
            "get_ratio": get_ratio,
            "post10_ratio": post_ratio,
            "get_ratio_by_cpu": get_cpu_ratio,
            "post10_ratio_by_cpu": post_cpu_ratio,
            "service_peak_rss_mb": service_rss,
        },
        "cases": [
            {
                "name": case.name,
                "server": case.server,
                "method": case.method,
                "batch": case.batch,
                "entities": case.entities,
                "connections": case.connections,
                "requests_per_s": result.median("requests_per_s"),
                "events_per_s": result.median("events_per_s"),
                "p50_ms": result.median("p50_ms"),
                "p99_ms": result.median("p99_ms"),
                "peak_rss_mb": result.rss_mb,
                "cpu_us_per_event": result.median("cpu_us_per_event"),
                "errors": result.errors,
                "samples": [vars(sample) for sample in result.samples],
            }
            for case, result in results.items()
        ],
    }
    return "\n".join(out).rstrip() + "\n", data


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def plot(data: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install -e '.[bench]'") from None

    cases = data["cases"]

    def pick(**match: Any) -> list[dict[str, Any]]:
        return [case for case in cases if all(case[key] == value for key, value in match.items())]

    base = {case["connections"]: case["requests_per_s"] for case in pick(server="baseline")}
    figure, (by_batch, by_conns) = plt.subplots(1, 2, figsize=(12, 4.8))

    posts = sorted(
        pick(server="service", method="POST", connections=MAIN_CONNECTIONS, entities=1), key=lambda c: c["batch"]
    )
    batches = [case["batch"] for case in posts]
    by_batch.plot(batches, [c["events_per_s"] for c in posts], "o-", color="tab:blue", label="service POST: events/s")
    by_batch.plot(
        batches,
        [c["requests_per_s"] for c in posts],
        "s--",
        color="tab:blue",
        alpha=0.6,
        label="service POST: requests/s",
    )
    by_batch.axhline(
        base[MAIN_CONNECTIONS], color="tab:gray", linestyle=":", label="baseline bare ASGI pixel: requests/s"
    )
    by_batch.axhline(
        TARGET_POST10_RATIO * base[MAIN_CONNECTIONS],
        color="tab:blue",
        linestyle=(0, (1, 4)),
        linewidth=1,
        label=f"target for POST batch {SWEEP_BATCH}: {TARGET_POST10_RATIO}x baseline",
    )
    by_batch.axhline(
        TARGET_GET_RATIO * base[MAIN_CONNECTIONS],
        color="tab:orange",
        linestyle=(0, (1, 4)),
        linewidth=1,
        label=f"target for GET: {TARGET_GET_RATIO}x baseline",
    )
    [get] = pick(server="service", method="GET", connections=MAIN_CONNECTIONS, entities=1)
    by_batch.plot([1], [get["requests_per_s"]], "D", color="tab:orange", label="service GET page view: requests/s")
    by_batch.set_xscale("log")
    by_batch.set_yscale("log")
    by_batch.set_xticks(batches, [str(b) for b in batches])
    by_batch.set_xlabel("events per request (tp2 batch size)")
    by_batch.set_ylabel("per second (log scale)")
    by_batch.set_title(f"Throughput by batch size ({MAIN_CONNECTIONS} connections)")

    levels = sorted(base)
    service_get = {c["connections"]: c["requests_per_s"] for c in pick(server="service", method="GET", entities=1)}
    service_post = {c["connections"]: c for c in pick(server="service", method="POST", batch=SWEEP_BATCH, entities=1)}
    by_conns.plot(levels, [base[n] for n in levels], "o:", color="tab:gray", label="baseline: requests/s")
    by_conns.plot(
        levels, [service_get[n] for n in levels], "D-", color="tab:orange", label="service GET page view: requests/s"
    )
    by_conns.plot(
        levels,
        [service_post[n]["events_per_s"] for n in levels],
        "o-",
        color="tab:blue",
        label=f"service POST batch {SWEEP_BATCH}: events/s",
    )
    by_conns.plot(
        levels,
        [service_post[n]["requests_per_s"] for n in levels],
        "s--",
        color="tab:blue",
        alpha=0.6,
        label=f"service POST batch {SWEEP_BATCH}: requests/s",
    )
    by_conns.set_xscale("log")
    by_conns.set_xticks(levels, [str(n) for n in levels])
    by_conns.set_ylim(bottom=0)
    by_conns.set_xlabel("concurrent connections")
    by_conns.set_ylabel("per second")
    by_conns.set_title("Throughput by concurrency")

    for axes in (by_batch, by_conns):
        axes.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=8, loc="best")
    info = data["machine"]
    figure.suptitle(
        f"pycollector vs bare uvicorn, one worker each, durable file sink - {info['cpus']} CPUs, {info['cpu_model']}, Python {info['python']}",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# --- command line --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="CI mode: 2 s per case, a quick warm-up, one pass")
    parser.add_argument(
        "--duration", type=int, help="seconds measured per case (whole seconds, wrk's unit; default 10, short 2)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        help=f"seconds of wrk warm-up before each case; 0: {QUICK_WARMUP_REQUESTS} requests (default 2, short 0)",
    )
    parser.add_argument(
        "--repeats", type=int, help="passes over all cases; the tables show medians (default 3, short 1)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (default 1: the server needs the other core)"
    )
    parser.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw throughput by batch size and concurrency (needs matplotlib)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every sample and the medians as JSON")
    parser.add_argument(
        "--fresh", action=argparse.BooleanOptionalAction, default=None,
        help="restart the service before each of its cases, so each peak RSS is the case's own (default: on, off with --short)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs, wrk scripts)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (2 if args.short else 10)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.short else 2)
    args.repeats = args.repeats or (1 if args.short else 3)
    args.fresh = (not args.short) if args.fresh is None else args.fresh
    if args.duration < 1 or args.repeats < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("--duration, --repeats and --threads must be at least 1, --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: run bench/install.sh", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="collector-bench-"))
    servers: dict[str, Server] = {}
    started = time.monotonic()
    try:
        info = machine.describe(with_wrk=True)
        servers["baseline"] = start_baseline(workdir)
        servers["service"] = start_service(workdir)
        cases = all_cases()
        preflight(servers["service"], cases)
        results = run_all(cases, servers, args, workdir)
        code_now = machine.code_version()
        if code_now != info["code"]:  # someone committed or edited app/ while the service was restarted
            info["code"] += f", changed during the run to {code_now}"
    finally:
        for server in servers.values():
            server.stop()
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text, data = report(results, args, info)
    print(text, end="")
    print(f"\n{len(results)} cases in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    if args.plot:
        plot(data, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
