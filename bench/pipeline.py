"""In-process pipeline benchmark: what one event costs in the core, with no HTTP, no sink, no wrk.

Builds app.pipeline.Pipeline with app.wiring.build_pipeline from app.config.Settings (temporary data dir) and the local Iglu
registry, then times `collect()` on the load benchmark's own payloads and, for a GET page view
and a POST batch of 10, each stage on its own: identity, parse, enrich (with entity
validation), serialise. Each figure is the median of several repeats, in microseconds per
event, so a regression in the core shows without the noise of a server and a load generator.

    python bench/pipeline.py            # about 45 s
    python bench/pipeline.py --short    # about 3 s, for CI; never fails on a number
    python bench/pipeline.py --url-cache-misses   # every URL parsed afresh (none seen before)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `app` and `bench` importable
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from app.clock import now_ms  # noqa: E402
from app.config import Settings  # noqa: E402
from app.enrichments.base import EventContext  # noqa: E402
from app.failures import Failure  # noqa: E402
from app.formats import json_line  # noqa: E402
from app.iglu import Registry, parse_self_describing  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from app.request import PIXEL_PATHS, TP2_PATH, CollectorRequest  # noqa: E402
from app.uri import parse_url  # noqa: E402
from app.wiring import build_pipeline  # noqa: E402
from bench import machine, payloads  # noqa: E402

PEER = "127.0.0.1"  # as in the load benchmark: a trusted proxy address with no forwarding header


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    batch: int = 1
    entities: int = 1

    def request(self) -> CollectorRequest:
        if self.method == "GET":
            path, query, body, headers = PIXEL_PATHS[0], payloads.get_query(self.entities), b"", payloads.GET_HEADERS
        else:
            path, query, body, headers = (
                TP2_PATH,
                "",
                payloads.post_body(self.batch, self.entities),
                payloads.POST_HEADERS,
            )
        return CollectorRequest(
            method=self.method,
            path=path,
            query_string=query,
            headers={name.lower(): value for name, value in headers.items()},
            peer=PEER,
            body=body,
            received_ms=now_ms(),
            hostname="collector.example",
        )


CASES = [
    Case("GET page view, 0 entities", "GET", entities=0),
    Case("GET page view", "GET"),
    Case("GET page view, 5 entities", "GET", entities=5),
    Case("POST batch 1", "POST", 1),
    Case("POST batch 10", "POST", 10),
    Case("POST batch 100", "POST", 100),
]
STAGE_CASES = [CASES[1], CASES[4]]  # GET page view, POST batch 10


class Timer:
    def __init__(self, repeat_s: float, repeats: int, clock: Callable[[], float] = time.perf_counter) -> None:
        self.repeat_s = repeat_s
        self.repeats = repeats
        self.clock = clock  # time.process_time: CPU time, for differences a busy machine's waits would swamp

    def per_event_us(self, work: Callable[[], Any], events: int) -> tuple[float, float]:
        """(median, min) over the repeats of the time per event, in microseconds."""
        loops = 1
        while True:  # calibrate: enough loops for one repeat to last about repeat_s
            started = self.clock()
            for _ in range(loops):
                work()
            elapsed = self.clock() - started
            if elapsed >= self.repeat_s / 4:
                loops = max(1, round(loops * self.repeat_s / elapsed))
                break
            loops *= 4
        results = []
        for _ in range(self.repeats):
            started = self.clock()
            for _ in range(loops):
                work()
            results.append((self.clock() - started) / loops / events * 1e6)
        return statistics.median(results), min(results)


def check(pipeline: Pipeline, case: Case) -> None:
    collected = pipeline.collect(case.request())
    if collected.bad or len(collected.good) != case.batch:
        raise SystemExit(
            f"{case.name}: expected {case.batch} good events, got {len(collected.good)} and bad rows {collected.bad[:1]}"
        )


def stages(pipeline: Pipeline, case: Case, timer: Timer) -> dict[str, tuple[float, float]]:
    request = case.request()
    now = now_ms()
    identity = pipeline.identity.resolve(request, now / 1000)
    parsed = pipeline.protocol.parse(request)
    enricher = pipeline.enricher
    enriched = [enricher.enrich(params, identity, request, now).event for params in parsed.events]
    entities = [
        parse_self_describing(entity) for event in enriched for entity in event.get("contexts", {}).get("data", [])
    ]
    registry = enricher.registry

    def enrich_all() -> None:
        for params in parsed.events:
            enricher.enrich(params, identity, request, now)

    def validate_all() -> None:
        for entity in entities:
            if not isinstance(entity, Failure):
                registry.validate(entity.key, entity.data)

    def serialise_all() -> None:
        for event in enriched:
            json_line(event)

    n = case.batch
    return {
        "identity": timer.per_event_us(lambda: pipeline.identity.resolve(request, now / 1000), n),
        "parse": timer.per_event_us(lambda: pipeline.protocol.parse(request), n),
        "enrich (with validation)": timer.per_event_us(enrich_all, n),
        "  of which: validate entities": timer.per_event_us(validate_all, n) if entities else (0.0, 0.0),
        "serialise": timer.per_event_us(serialise_all, n),
        "collect() end to end": timer.per_event_us(lambda: pipeline.collect(request), n),
    }


# The enrichment case: the five a web pipeline most often runs, their data files written as the tests write them.
UTM_FIELDS = {f"mkt{part}": [f"utm_{part.lower()}"] for part in ("Medium", "Source", "Term", "Content", "Campaign")}
MAXMIND = {
    "geo": "GeoIP2-City.mmdb",
    "isp": "GeoIP2-ISP.mmdb",
    "domain": "GeoIP2-Domain.mmdb",
    "connectionType": "GeoIP2-Connection-Type.mmdb",
    "asn": "GeoLite2-ASN.mmdb",
}


def enrichment_settings(folder: Path) -> Settings:
    """Settings with ip_lookups (all five databases), ua_parser, referer_parser, campaign and fingerprint."""
    from tests.enrichment_data import write_maxmind_databases, write_referer_database
    from tests.unit.enrichment_support import config_document

    data = folder / "data-files"
    write_maxmind_databases(data)
    write_referer_database(data)
    configs = [
        ("ip_lookups", "2-0-1", {kind: {"database": name, "uri": data.as_uri()} for kind, name in MAXMIND.items()}),
        ("ua_parser_config", "1-0-0", {}),
        (
            "referer_parser",
            "2-0-0",
            {"internalDomains": [], "database": "referers-latest.json", "uri": data.as_uri()},
        ),
        ("campaign_attribution", "1-0-0", {"fields": UTM_FIELDS}),
        ("event_fingerprint_config", "1-0-0", {"excludeParameters": ["eid", "stm"], "hashAlgorithm": "MD5"}),
    ]
    (folder / "enrichments").mkdir()
    for name, version, parameters in configs:
        (folder / "enrichments" / f"{name}.json").write_bytes(orjson.dumps(config_document(name, version, parameters)))
    return Settings(
        data_dir=folder / "out", enrichments_dir=folder / "enrichments", enrichments_cache_dir=folder / "cache"
    )


def enrichment_costs(folder: Path, timer: Timer, plain: Pipeline) -> list[list[str]]:
    """Microseconds per event each enrichment adds to a GET page view from a known address, and in all."""
    from tests.enrichment_data import CLIENT_IP

    pipeline = build_pipeline(enrichment_settings(folder), plain.enricher.registry, "file")
    request = STAGE_CASES[0].request()
    request.headers["x-forwarded-for"] = CLIENT_IP  # an address the databases know: every lookup finds a record
    identity = pipeline.identity.resolve(request, now_ms() / 1000)
    [params] = pipeline.protocol.parse(request).events
    event = pipeline.enricher.enrich(params, identity, request, now_ms()).event
    context = EventContext(params, request, False, CLIENT_IP)
    rows = []
    for enrichment in pipeline.enrichments.chain:
        median, _ = timer.per_event_us(lambda enrichment=enrichment: enrichment.apply(event, context), 1)
        rows.append([enrichment.config.name, f"{median:.1f}"])
        if enrichment.config.name == "ua_parser_config":  # the figure above is a cache hit; a new agent each time:
            agents = iter(f"{request.headers['user-agent']} build/{n}" for n in range(10**9))
            median, _ = timer.per_event_us(
                lambda enrichment=enrichment, agents=agents: enrichment.apply({"useragent": next(agents)}, context), 1
            )
            rows.append(["  ua_parser_config, unseen agent", f"{median:.1f}"])
    cpu = Timer(timer.repeat_s, timer.repeats, time.process_time)
    for case in STAGE_CASES:
        enriched_request = case.request()
        enriched_request.headers["x-forwarded-for"] = CLIENT_IP
        plain_request = case.request()
        check(pipeline, case)
        with_all, _ = cpu.per_event_us(lambda r=enriched_request: pipeline.collect(r), case.batch)
        without, _ = cpu.per_event_us(lambda r=plain_request: plain.collect(r), case.batch)
        rows.append([f"all five, collect() {case.name} (CPU)", f"{with_all - without:.1f}"])
    return rows


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(row) for row in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="CI mode: short repeats, three of them")
    parser.add_argument(
        "--repeats", type=int, help="repeats per figure; the table shows their median (default 9, short 3)"
    )
    parser.add_argument(
        "--url-cache-misses",
        action="store_true",
        help="forget parsed URLs before each request, as if every event came from a page never seen",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.short else 9)
    timer = Timer(0.03 if args.short else 0.25, repeats)

    with tempfile.TemporaryDirectory(prefix="collector-pipeline-") as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        pipeline = build_pipeline(settings, Registry(settings.schemas_dir), "file")
        for case in CASES:  # also compiles every validator before anything is timed
            check(pipeline, case)

        rows = []
        for case in CASES:
            request = case.request()
            if args.url_cache_misses:  # clearing the cache costs well under a microsecond

                def work(request: CollectorRequest = request) -> Any:
                    parse_url.cache_clear()
                    return pipeline.collect(request)
            else:

                def work(request: CollectorRequest = request) -> Any:
                    return pipeline.collect(request)

            median, fastest = timer.per_event_us(work, case.batch)
            rows.append(
                [
                    case.name,
                    str(case.batch),
                    str(case.entities),
                    f"{median:.1f}",
                    f"{fastest:.1f}",
                    f"{1e6 / median:,.0f}",
                ]
            )
        breakdown = {case.name: stages(pipeline, case, timer) for case in STAGE_CASES}
        enrichment_rows = enrichment_costs(Path(data_dir), timer, pipeline)

    print(machine.summary(machine.describe()))
    print(
        f"mode: {'short' if args.short else 'full'}{'; URL cache misses' if args.url_cache_misses else ''}; median of {repeats} repeats; microseconds per event, one core, no HTTP\n"
    )
    print("Pipeline collect() per event")
    print(table(["case", "events/req", "entities", "us/event", "min us", "events/s"], rows))
    print("\nStages per event (1 entity per event: client_session)")
    names = list(next(iter(breakdown.values())))
    stage_rows = [[name] + [f"{breakdown[case.name][name][0]:.1f}" for case in STAGE_CASES] for name in names]
    print(table(["stage"] + [f"{case.name} us/event" for case in STAGE_CASES], stage_rows))
    print("\nEnrichments: us per event added (GET page view from an address every MaxMind database knows)")
    print(table(["enrichment", "us/event added"], enrichment_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
