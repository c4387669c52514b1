"""URLs from settings, as they may appear in a log line or an error: without their secrets.

A sink URL can carry credentials (`https://user:password@host/`, `?token=...`); a log line
and a 503 body keep the scheme, host, port and path, with `***` where something was left out.

The contract: docs/behaviour.md#anonymisation.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_url(url: str) -> str:
    """scheme://[***@]host[:port]/path[?***]: user information, query string and fragment hidden."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<url not shown>"
    if ":" in host:
        host = f"[{host}]"
    userinfo = "***@" if parts.username or parts.password else ""
    query = "?***" if parts.query or parts.fragment else ""
    return f"{parts.scheme}://{userinfo}{host}{f':{port}' if port else ''}{parts.path}{query}"


def safe_urls(urls: str) -> str:
    """A comma-separated list of URLs (NATS servers), each made safe."""
    return ",".join(safe_url(url) for url in urls.split(","))


def scrub(text: str, url: str) -> str:
    """An error message with the URL (and its secret parts) replaced by its safe form."""
    safe = safe_url(url)
    text = text.replace(url, safe)
    try:
        parts = urlsplit(url)
        secrets = [parts.password, parts.query, parts.username]
    except ValueError:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
