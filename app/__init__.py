"""A Snowplow-compatible event collector."""

__version__ = "0.1.0"
