"""Every code block the documentation marks runnable is run, so that pasting it works.

A block is marked with an HTML comment on the line before its fence: `<!-- runnable: LANGUAGE -->`.

- `python`, `node`: a tracker snippet, run against the real service with its address in place of
  `https://collector.acme.com`; the events it sent must be stored.
- `sh`: the set-up command, run as written in a fresh copy of the project, in a fresh virtualenv
  (which borrows the already installed dependencies through a `.pth` file, so nothing is
  downloaded but the build backend): the service it starts must answer and store an event.
- `nats`: a Python snippet for the operator, run against a real nats-server at its address in place
  of `nats://127.0.0.1:4222`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import site
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from http_support import page_view, wait_until
from nats_support import BAD, GOOD, STREAM

from tests.conftest import ROOT, free_port, read_lines

DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "operations.md"]
MARKER = re.compile(r"<!-- runnable: (?P<language>[\w-]+) -->\n```[\w-]*\n(?P<code>.*?)\n```", re.S)
LANGUAGES = {"python", "node", "sh", "nats", "browser"}  # browser: tests/e2e/test_readme_browser_snippet.py
EXAMPLE_COLLECTOR = "https://collector.acme.com"
EXAMPLE_NATS = "nats://127.0.0.1:4222"
NODE_MODULES = ROOT / "tests" / "e2e" / "js" / "node_modules"  # installed by tests/e2e/js/install.sh
PROJECT_FILES = ["app", "schemas", "pyproject.toml", "README.md"]


def runnable(language: str) -> list[pytest.param]:
    return [
        pytest.param(match["code"], id=f"{path.name}:{text[: match.start()].count(chr(10)) + 1}")
        for path in DOCUMENTS
        for text in [path.read_text()]
        for match in MARKER.finditer(text)
        if match["language"] == language
    ]


def test_every_runnable_marker_is_on_a_block_this_file_runs():
    for path in DOCUMENTS:
        text = path.read_text()
        markers = text.count("<!-- runnable:")
        blocks = list(MARKER.finditer(text))
        assert len(blocks) == markers, f"{path.name}: a runnable marker is not right before a fenced block"
        assert {block["language"] for block in blocks} <= LANGUAGES, f"{path.name}: a language no test runs"
    assert runnable("python") and runnable("node") and runnable("sh"), "the tracker snippets lost their markers"


def _run(command: list[str], cwd: Path, timeout_s: float = 60) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    assert result.returncode == 0, f"{command[0]} exited with {result.returncode}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("code", runnable("python"))
def test_python_snippet_stores_its_events(collector, code, tmp_path):
    assert EXAMPLE_COLLECTOR in code
    (tmp_path / "snippet.py").write_text(code.replace(EXAMPLE_COLLECTOR, collector.url))
    _run([sys.executable, "snippet.py"], tmp_path)
    events = collector.good()
    assert events, "the snippet's events were not stored"
    assert all(event["v_tracker"].startswith("py-") for event in events)
    assert collector.bad() == []


@pytest.mark.parametrize("code", runnable("node"))
def test_node_snippet_stores_its_events(collector, code, tmp_path):
    assert EXAMPLE_COLLECTOR in code
    assert NODE_MODULES.is_dir(), "run tests/e2e/js/install.sh first (npm trackers)"
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)  # the snippet imports the tracker by name
    (tmp_path / "snippet.mjs").write_text(code.replace(EXAMPLE_COLLECTOR, collector.url))
    _run(["node", "snippet.mjs"], tmp_path)
    events = collector.good()
    assert events, "the snippet's events were not stored"
    assert all(event["v_tracker"].startswith("node-") for event in events)
    assert collector.bad() == []


@pytest.mark.parametrize("code", runnable("nats"))
def test_nats_snippet_makes_the_stream_the_service_needs(nats_server, collector_factory, code, tmp_path):
    assert EXAMPLE_NATS in code
    (tmp_path / "snippet.py").write_text(code.replace(EXAMPLE_NATS, nats_server.url))
    _run([sys.executable, "snippet.py"], tmp_path)
    env = {"COLLECTOR_SINK": "nats", "COLLECTOR_NATS_URL": nats_server.url}  # no COLLECTOR_NATS_STREAM
    collector = collector_factory(env=env)
    wait_until(lambda: httpx.get(collector.url + "/sink-health").status_code == 200)
    event = page_view()
    assert httpx.get(collector.url + "/i", params=event).status_code == 200
    assert [record["event_id"] for record in nats_server.records(GOOD, STREAM)] == [event["eid"]]
    assert {message.subject for message in nats_server.messages(STREAM)} <= {GOOD, BAD}


@pytest.mark.parametrize("code", runnable("sh"))
def test_set_up_command_runs_the_service_from_a_fresh_copy(code, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:  # as a fresh clone has them: no build outputs (a compiled pipeline)
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        else:
            shutil.copy(source, project / name)
    # `python3 -m venv .venv` keeps what an existing .venv holds: create it first, with a path to
    # the dependencies already installed for the tests (the command's pip then finds them there).
    _run([sys.executable, "-m", "venv", ".venv"], project)
    venv_python = project / ".venv" / "bin" / "python"
    venv_site = subprocess.run(
        [venv_python, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True
    ).stdout.strip()
    Path(venv_site, "installed-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    environment |= {
        "PATH": f"{Path(sys.executable).parent}:{environment.get('PATH', '')}",  # python3: this interpreter
        "COLLECTOR_PORT": str(port),
        "COLLECTOR_DRAIN_SECONDS": "0",
    }
    log = tmp_path / "setup.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["bash", "-c", code],
            cwd=project,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the command's processes form one group, stopped together below
        )
    try:
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert process.poll() is None, f"the command exited with {process.returncode}:\n{log.read_text()}"
            try:
                return httpx.get(url + "/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, timeout_s=180)  # the venv's pip builds the project first
        event = page_view()
        assert httpx.get(url + "/i", params=event).status_code == 200
        stored = read_lines(project / "data" / "good")
        assert [record["event_id"] for record in stored] == [event["eid"]]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
