"""Snowplow Micro's REST API and a live inspector page over the last events held in memory."""
