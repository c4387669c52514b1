"""One collector for the hostile requests, reached directly and through the repository's nginx config."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from abuse_support import DeployedNginx, Front

from tests.conftest import Collector, start_collector


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    collector = start_collector(tmp_path_factory.mktemp("abuse") / "data")
    yield collector
    collector.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def nginx(target: Collector, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedNginx]:
    proxy = DeployedNginx(Path(tmp_path_factory.mktemp("nginx")), target.port)
    yield proxy
    proxy.stop()


@pytest.fixture(params=["direct", "nginx"])
def front(request: pytest.FixtureRequest, target: Collector) -> Front:
    if request.param == "direct":
        return Front("direct", target.url, target.port, target)
    proxy: DeployedNginx = request.getfixturevalue("nginx")
    return Front("nginx", proxy.url, proxy.port, target)
