"""docs/behaviour.md#acknowledgement over HTTP: an output folder that cannot be written gives 503 + Retry-After, and heals by itself.

The tests run as root, so permissions cannot stop a write: the good folder is moved aside and a
regular file put at its path instead. Putting the folder back (the service does not silently remake
a vanished folder) lets it write again, without a restart.
"""

from __future__ import annotations

import httpx
from http_support import page_view, post, raw_parameters, wait_until


def _sink_health(url: str) -> int:
    return httpx.get(url + "/sink-health").status_code


def test_unwritable_output_folder_gives_503_then_recovers_without_losing_what_was_acknowledged(collector):
    good = collector.data_dir / "good"
    before = page_view()
    assert post(collector.url, before).status_code == 200

    aside = good.with_name("good.aside")
    good.rename(aside)
    good.write_text("a file where the folder was")
    refused_event = page_view()
    refused_bad_event = page_view(vid="not-a-number")

    refused = post(collector.url, refused_event, refused_bad_event)

    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) > 0
    assert _sink_health(collector.url) == 503

    good.unlink()
    aside.rename(good)  # the operator puts the folder back, with what was stored before
    wait_until(lambda: _sink_health(collector.url) == 200)
    retried = post(collector.url, refused_event, refused_bad_event)  # what a tracker does after a 503
    after = page_view()
    assert retried.status_code == 200
    assert post(collector.url, after).status_code == 200

    stored = [event["event_id"] for event in collector.good()]
    assert sorted(stored) == sorted([before["eid"], refused_event["eid"], after["eid"]])  # each once
    bad_rows = collector.bad()
    assert bad_rows and all(raw_parameters(row)["eid"] == refused_bad_event["eid"] for row in bad_rows)
