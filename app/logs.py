"""Structured logs: one JSON object per line on stderr, for uvicorn's loggers and ours alike.

No per-request lines by default (the access log is off), and nothing here ever receives an
IP address or a cookie value: log calls pass counts and reasons, not request data. httpx logs
every request it sends at INFO (the http sink's URL with its secrets, a remote Iglu lookup's
client-chosen vendor and name), so its loggers only pass warnings.

A fault can last minutes and fail every batch: `Throttled` keeps its line to one a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson

from app.clock import iso_from_ms


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso_from_ms(int(record.created * 1000)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def logging_config(level: str) -> dict[str, Any]:
    """A dictConfig for uvicorn's `log_config`: every logger through one JSON handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"client_triggered": {"()": ClientTriggeredRepeats}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True, "filters": ["client_triggered"]},
            "uvicorn.access": {"handlers": [], "propagate": True},
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
    }


REPEAT_INTERVAL_S = 60.0
LEFT_OUT = " (%d more like it in the last %.0f s)"


class Throttled:
    """A line that repeats while a fault lasts: the first is written at once, then at most one per
    interval, counting those left out. `clear()` once the fault is over: the next one shows at once."""

    def __init__(self, logger: logging.Logger, interval_s: float = REPEAT_INTERVAL_S) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._left_out = 0

    def __call__(self, level: int, message: str, *args: object) -> None:
        left_out = self.admit()
        if left_out is None:
            return
        if left_out:
            message, args = message + LEFT_OUT, (*args, left_out, self.interval_s)
        self.logger.log(level, message, *args)

    def admit(self) -> int | None:
        """None: leave this one out; else write it, saying how many were left out since the last."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval_s:
                self._left_out += 1
                return None
            left_out, self._left_out, self._last = self._left_out, 0, now
        return left_out

    def clear(self) -> bool:
        """Forget the fault; True if one was being reported (a recovery worth a line)."""
        with self._lock:
            was_failing = self._last != float("-inf")
            self._last, self._left_out = float("-inf"), 0
        return was_failing


class ClientTriggeredRepeats(logging.Filter):
    """uvicorn warns once per malformed request ("Invalid HTTP request received."): a client could
    write a log line per request. Each such warning passes at most once per interval, counting the rest."""

    def __init__(self) -> None:
        super().__init__()
        self._gates: dict[str, Throttled] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        gate = self._gates.setdefault(str(record.msg), Throttled(logging.getLogger(record.name)))
        left_out = gate.admit()
        if left_out is None:
            return False
        if left_out and isinstance(record.args or (), tuple):
            record.msg, record.args = str(record.msg) + LEFT_OUT, (*(record.args or ()), left_out, gate.interval_s)
        return True
