"""What the numbers were measured on: CPUs, CPU model, Python, server versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def wrk_version() -> str:
    if shutil.which("wrk") is None:
        return "wrk not installed"
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" [")[0] if first else "wrk"


def code_version() -> str:
    """The commit measured, and whether app/ differed from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "app"], capture_output=True, text=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + (" with local changes in app/" if changes.stdout.strip() else "")


def describe(with_wrk: bool = False) -> dict[str, str]:
    import uvicorn

    info = {
        "cpus": str(len(os.sched_getaffinity(0))),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "uvicorn": uvicorn.__version__,
        "kernel": platform.release(),
        "code": code_version(),
    }
    if with_wrk:
        info["wrk"] = wrk_version()
    return info


def summary(info: dict[str, str]) -> str:
    line = f"machine: {info['cpus']} CPUs ({info['cpu_model']}), Python {info['python']}, uvicorn {info['uvicorn']}"
    if "wrk" in info:
        line += f", {info['wrk']}"
    return line + f", Linux {info['kernel']}; code: {info.get('code', 'unknown')}"
