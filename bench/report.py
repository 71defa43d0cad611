"""The benchmark's result as rich tables (stdout) and as Markdown (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

Rows = list[tuple[str, list[str], list[list[str]]]]


def sections(result: dict[str, Any]) -> Rows:
    """(title, header, rows) of every table, shared by the console and Markdown forms."""
    pub = result["publish"]
    out: Rows = [
        (
            f"Publish ({pub['events']} events, {pub['mean_message_bytes']} B/message, "
            f"signed: {'yes' if pub['signed'] else 'no'}, median of {pub['rounds']})",
            ["hxbus events/s", "raw events/s", "ratio (target >= 0.7)"],
            [[_n(pub["hxbus_events_per_s"]), _n(pub["raw_events_per_s"]), f"{pub['ratio']:.2f}"]],
        ),
        (
            "Bridge per province (directory sink, one data sync per batch; "
            f"signed: {'yes' if result.get('signed') else 'no'})",
            [
                "province",
                "records",
                "files",
                "bridge ev/s",
                "raw read ev/s",
                "ratio",
                "bridge CPU us/ev",
                "raw CPU us/ev",
                "CPU ratio",
                "RSS MB",
            ],
            [
                [
                    key,
                    _n(b["records"]),
                    _n(b["delivered_files"]),
                    _n(b["bridge_events_per_s"]),
                    _n(b["raw_events_per_s"]),
                    f"{b['ratio']:.3f}",
                    f"{b.get('bridge_cpu_us_per_event', 0):.0f}",
                    f"{b.get('raw_cpu_us_per_event', 0):.0f}",
                    f"{b.get('cpu_ratio') or 0:.3f}",
                    f"{b['peak_rss_mb']:.0f}",
                ]
                for key, b in result["bridge"].items()
            ],
        ),
    ]
    out.extend(_workers_section(result.get("workers")))
    out.extend(_transport_sections(result.get("transports")))
    lat = result["latency"]
    steps = list(lat["steps"])
    hold = lat.get("hold")
    if hold is not None:
        steps += hold["tries"]
    out.append(
        (
            f"End-to-end latency, created_at -> local file ({lat['province']} bridge)",
            [
                "workers",
                "offered/s",
                "achieved/s",
                "files",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "held",
            ],
            [
                [
                    str(s.get("workers", 1)),
                    _n(s["offered_per_s"]),
                    _n(s["achieved_per_s"]),
                    _n(s["delivered"]),
                    f"{s['p50_ms']:.1f}",
                    f"{s['p95_ms']:.1f}",
                    f"{s['p99_ms']:.1f}",
                    f"{s['max_ms']:.1f}",
                    _held(s.get("held")),
                ]
                for s in steps
            ],
        )
    )
    demo = result.get("demo")
    if demo is not None:
        each = [("all", demo["all"]), *demo["provinces"].items()]
        out.append(
            (
                f"End-to-end latency in the demo's set-up, created_at -> file visible (four "
                f"bridges, tracker, signed, {'secured' if demo['secured'] else 'plain'} broker; "
                f"{_n(demo['offered_per_s'])}/s for {demo['seconds']:g} s; "
                "second notices left out)",
                ["province", "files", "p50 ms", "p95 ms", "p99 ms", "max ms"],
                [
                    [
                        name,
                        _n(m["count"]),
                        f"{m['p50_ms']:.1f}",
                        f"{m['p95_ms']:.1f}",
                        f"{m['p99_ms']:.1f}",
                        f"{m['max_ms']:.1f}",
                    ]
                    for name, m in each
                ],
            )
        )
    if hold is not None:
        by_workers = hold.get("by_workers", {"1": hold["highest_rate_held_per_s"]})
        out.append(
            (
                f"Highest rate held {hold['seconds']:g} s without growing lag, per bridge "
                "worker count",
                ["workers", "events/s"],
                [
                    [count, _n(held) if held is not None else "none of the rates tried"]
                    for count, held in by_workers.items()
                ],
            )
        )
    out.append(
        (
            "Codec and validation per event type (events/s, one core)",
            ["event type", "encode", "decode", "validate"],
            [
                [t, _n(c["encode_per_s"]), _n(c["decode_per_s"]), _n(c["validate_per_s"])]
                for t, c in result["codec"].items()
            ],
        )
    )
    out.append(
        (
            "Translation and durable sink writes per province",
            ["province", "profile", "to_local/s", "sink files/s (synced)"],
            [
                [k, t["profile"], _n(t["to_local_per_s"]), _n(t["sink_files_per_s"])]
                for k, t in result["translation"].items()
            ],
        )
    )
    out.append(
        (
            "Memory (target < 150 MB per bridge process)",
            ["bridge peak RSS (VmHWM), MB", "--workers 2: supervisor", "--workers 2: worker"],
            [
                [
                    f"{result['memory']['bridge_peak_rss_mb']:.0f}",
                    f"{result['memory'].get('supervisor_peak_rss_mb', 0):.0f}",
                    f"{result['memory'].get('worker_peak_rss_mb', 0):.0f}",
                ]
            ],
        )
    )
    if result.get("section_seconds"):  # results of before the file was kept per section lack it
        timings = result["section_seconds"]
        out.append(
            (
                f"Seconds per section ({_n(result.get('seconds', 0))} s in all)",
                list(timings),
                [[f"{seconds:.1f}" for seconds in timings.values()]],
            )
        )
    return out


def _workers_section(workers: dict[str, Any] | None) -> Rows:
    """One bridge worker against ``--workers 2`` (issue 17's target in the header)."""
    if workers is None:
        return []
    one, two = workers["runs"]["1"], workers["runs"]["2"]
    return [
        (
            f"Bridge workers, {workers['province']} ({workers['partitions']} partitions, "
            f"same records; target 2 workers >= {workers['target']:g}x one)",
            [
                "workers",
                "records",
                "measured",
                "ev/s",
                "x one",
                "CPU ms/ev",
                "partitions / records per worker",
                "RSS MB per process",
            ],
            [
                [
                    "1",
                    _n(one["records"]),
                    _n(one["records_measured"]),
                    _n(one["events_per_s"]),
                    "1.00",
                    f"{one['cpu_ms_per_event']:.2f}",
                    _per_worker(one),
                    f"{one['peak_rss_mb']:.0f}",
                ],
                [
                    "2",
                    _n(two["records"]),
                    _n(two["records_measured"]),
                    _n(two["events_per_s"]),
                    f"{workers['ratio']:.2f}",
                    f"{two['cpu_ms_per_event']:.2f}",
                    _per_worker(two),
                    f"supervisor {two['supervisor_peak_rss_mb']:.0f}, workers "
                    + ", ".join(f"{w:.0f}" for w in two["workers_peak_rss_mb"]),
                ],
            ],
        )
    ]


def _per_worker(run: dict[str, Any]) -> str:
    """``12 / 4,100, 9 / 3,400``: each worker's partitions and records measured."""
    pairs = zip(
        run.get("partitions_per_worker", []), run.get("records_per_worker", []), strict=True
    )
    return ", ".join(f"{p} / {_n(r)}" for p, r in pairs) or "-"


#: The publish sides of the transports section, in its column order.
_SIDES = ("raw_kafka_python", "hxbus_kafka_python", "raw_librdkafka", "hxbus_librdkafka")
_SIDE_NAMES = ("raw kafka-python", "hxbus kafka-python", "raw confluent-kafka", "hxbus librdkafka")


def _transport_sections(both: dict[str, Any] | None) -> Rows:
    """The two transports side by side (issue 21's targets in the headers)."""
    if both is None:
        return []
    if "skipped" in both:
        return [("Kafka transports", ["skipped"], [[both["skipped"]]])]
    pub, ratios, bridge = both["publish"], both["publish"]["ratios"], both["bridge"]
    return [
        (
            f"Publish on both transports ({pub['events']} events, median of {pub['rounds']}; "
            "every side acks=all, idempotent, the Publisher's linger, batch and compression)",
            ["", *_SIDE_NAMES],
            [
                [
                    "events/s",
                    _n(pub["raw_kafka_python_events_per_s"]),
                    _n(pub["hxbus_kafka_python_events_per_s"]),
                    _n(pub["raw_librdkafka_events_per_s"]),
                    _n(pub["hxbus_librdkafka_events_per_s"]),
                ]
            ]
            + (
                [["CPU µs/event"] + [_n(pub["cpu_us_per_event"][side]) for side in _SIDES]]
                if "cpu_us_per_event" in pub
                else []
            ),
        ),
        (
            "Publish ratios (targets: >= 1.5, >= 0.5, >= 0.7)",
            [
                "hxbus librdkafka / raw kafka-python",
                "hxbus librdkafka / raw confluent-kafka",
                "hxbus kafka-python / raw kafka-python",
                "raw confluent-kafka / raw kafka-python",
            ],
            [
                [
                    f"{ratios['hxbus_librdkafka_vs_raw_kafka_python']:.2f}",
                    f"{ratios['hxbus_librdkafka_vs_raw_librdkafka']:.2f}",
                    f"{ratios['hxbus_kafka_python_vs_raw_kafka_python']:.2f}",
                    f"{ratios['raw_librdkafka_vs_raw_kafka_python']:.2f}",
                ]
            ],
        ),
        (
            f"Bridge {bridge['province']} on both transports (target librdkafka >= 1.3x)",
            ["transport", "records", "bridge ev/s", "raw read ev/s", "RSS MB"],
            [
                [
                    client,
                    _n(bridge[client]["records"]),
                    _n(bridge[client]["bridge_events_per_s"]),
                    _n(bridge[client]["raw_read_events_per_s"]),
                    f"{bridge[client]['peak_rss_mb']:.0f}",
                ]
                for client in ("kafka-python", "librdkafka")
            ]
            + [
                [
                    "librdkafka / kafka-python",
                    "",
                    f"{bridge['ratio_librdkafka_vs_kafka_python']:.2f}",
                    "",
                    "",
                ]
            ],
        ),
    ]


def print_tables(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    for title, header, rows in sections(result):
        table = Table(title=title, title_justify="left")
        for name in header:
            table.add_column(name, justify="right")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def markdown(result: dict[str, Any]) -> str:
    parts = []
    for title, header, rows in sections(result):
        parts.append(f"**{title}**\n")
        parts.append("| " + " | ".join(header) + " |")
        parts.append("|" + "---|" * len(header))
        parts.extend("| " + " | ".join(row) + " |" for row in rows)
        parts.append("")
    return "\n".join(parts)


def _n(value: float | int) -> str:
    return f"{value:,.0f}"


def _held(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")
