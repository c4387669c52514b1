"""Data files named by enrichment configs (`uri` + `database`, as Enrich joins them): `file://` ones are
read where they are; `http(s)://` ones are downloaded at start-up into a cache folder, with a timeout."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from app.enrichments.base import EnrichmentConfig


class DataFileCache:
    def __init__(self, cache_dir: Path, timeout_s: float, *, refresh: bool) -> None:
        self.cache_dir = cache_dir
        self.timeout_s = timeout_s
        # The start-up check downloads afresh; workers started after it reuse what it fetched.
        self.refresh = refresh

    def fetch(self, config: EnrichmentConfig, location: dict[str, Any]) -> Path:
        url = f"{location['uri'].rstrip('/')}/{location['database']}"
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(url2pathname(parts.path))
        elif parts.scheme in ("http", "https"):
            path = self._download(config, url, location["database"])
        else:
            raise config.problem(f"data file {url}: only file://, http:// and https:// URIs are supported")
        try:
            with path.open("rb") as file:
                file.read(1)
        except OSError as error:
            raise config.problem(f"data file {url} cannot be read: {error.strerror or error}") from None
        return path

    def _download(self, config: EnrichmentConfig, url: str, database: str) -> Path:
        target = self.cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{Path(database).name}"
        if target.is_file() and not self.refresh:
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        try:
            with httpx.stream("GET", url, timeout=self.timeout_s, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise config.problem(f"data file {url}: the server answered {response.status_code}")
                with partial.open("wb") as file:
                    for chunk in response.iter_bytes():
                        file.write(chunk)
            partial.replace(target)  # whole or not at all: a worker never reads half a file
        except httpx.HTTPError as error:
            partial.unlink(missing_ok=True)
            raise config.problem(f"data file {url} could not be downloaded: {error!r}") from None
        return target
