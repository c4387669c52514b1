"""Fixtures shared by the integration suites."""

from nats_support import nats_server

__all__ = ["nats_server"]
