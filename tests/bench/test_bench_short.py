"""The benchmarks run here in their short mode so that they cannot rot.

They must finish and print their tables with every row; no number is ever asserted on: the
machine is shared and noisy, and the benchmark reports, it does not judge.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 900  # only stops a hung run; far above the ~40 s the short mode takes

MAIN_ROWS = ["baseline GET pixel", "GET page view", "POST batch 1", "POST batch 10", "POST batch 100"]
CONCURRENCY_ROWS = [  # (case, connections, entities per event)
    (name, conns, "-" if name.startswith("baseline") else "1")
    for conns in ("16", "64", "256")
    for name in ("baseline GET pixel", "GET page view", "POST batch 10")
]
ENTITY_ROWS = [(name, "64", entities) for name in ("GET page view", "POST batch 10") for entities in ("0", "1", "5")]
PIPELINE_ROWS = [
    "GET page view, 0 entities",
    "GET page view",
    "GET page view, 5 entities",
    "POST batch 1",
    "POST batch 10",
    "POST batch 100",
]
STAGE_ROWS = [
    "identity",
    "parse",
    "enrich (with validation)",
    "of which: validate entities",
    "serialise",
    "collect() end to end",
]
ENRICHMENT_ROWS = [
    "ip_lookups",
    "ua_parser_config",
    "ua_parser_config, unseen agent",
    "referer_parser",
    "campaign_attribution",
    "event_fingerprint_config",
    "all five, collect() GET page view (CPU)",
    "all five, collect() POST batch 10 (CPU)",
]


def run_bench(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert done.returncode == 0, (
        f"bench/{script} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )
    print(done.stdout)  # shown by pytest -s or on failure: CI keeps the table in its log
    return done.stdout


def section(text: str, title: str) -> list[list[str]]:
    """The rows of the table under `title`: cells split on runs of two or more spaces."""
    lines = text.split(title, 1)[1].splitlines()[1:]
    assert lines and set(lines[1]) <= {"-", " "}, f"no table under {title!r}"
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = []
    for line in lines[2:]:
        if not line.strip():  # an empty line ends the table
            break
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == len(header), f"row {line!r} does not fill the columns {header}"
        rows.append(cells)
    return rows


@pytest.fixture(scope="module")
def load_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: tests/bench/install.sh installs it")
    results = tmp_path_factory.mktemp("bench") / "results.json"
    out = run_bench("run.py", "--short", "--json", str(results))
    return out, json.loads(results.read_text())


def test_load_benchmark_prints_the_main_table_with_ratios_to_the_baseline(load_run: tuple[str, dict]) -> None:
    out, _ = load_run
    assert out.startswith("machine: ")
    rows = section(out, "Main cases")
    assert [row[0] for row in rows] == MAIN_ROWS


def test_load_benchmark_prints_the_targets(load_run: tuple[str, dict]) -> None:
    out, _ = load_run
    rows = section(out, "Targets")
    assert [row[0] for row in rows] == [
        "GET page view req/s / baseline req/s",
        "POST batch 10 events/s / baseline req/s",
        "service peak RSS under load, all cases",
    ]
    assert all(row[-1] in ("met", "MISSED") for row in rows)


def test_load_benchmark_prints_concurrency_and_entity_sweeps(load_run: tuple[str, dict]) -> None:
    out, _ = load_run
    by_concurrency = section(out, "By concurrency")
    assert [(row[0], row[1], row[2]) for row in by_concurrency] == CONCURRENCY_ROWS
    by_entities = section(out, "By entities per event")
    assert [(row[0], row[1], row[2]) for row in by_entities] == ENTITY_ROWS


def test_load_benchmark_draws_its_plot(load_run: tuple[str, dict], tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from bench.run import plot
    finally:
        sys.path.remove(str(ROOT))
    _, data = load_run
    path = tmp_path / "results.png"
    plot(data, path)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_pipeline_benchmark_prints_per_event_costs_and_stages() -> None:
    out = run_bench("pipeline.py", "--short")
    assert out.startswith("machine: ")
    assert [row[0] for row in section(out, "Pipeline collect() per event")] == PIPELINE_ROWS
    assert [row[0] for row in section(out, "Stages per event")] == STAGE_ROWS
    assert [row[0] for row in section(out, "Enrichments: us per event added")] == ENRICHMENT_ROWS
