"""``hxbus bench`` against the real broker: it runs and writes well-formed results.

The suite runs the smallest plan (``--tiny``: every section, a few hundred events) so it
stays near a minute and a half on the shared machine (the demo's set-up with 2 s of
traffic is about half of it); ``--quick`` differs only in sizes. No timing is asserted:
speed is what the benchmark reports, not what the suite checks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemas import EVENT_TYPES, Agreement

pytestmark = pytest.mark.broker

#: The tiny run takes 2–4 minutes on the shared 2-core machine (more under load).
TINY_BENCH_TIMEOUT_S = 480


@pytest.fixture(scope="module")
def bench_result(
    kafka_bootstrap: str, agreement: Agreement, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One tiny benchmark run's JSON (``--out``), after its exit status was checked. The
    bench provisions the agreement's topics itself (nothing here does)."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = {**os.environ, "HX_BOOTSTRAP": kafka_bootstrap, "HX_LOG_LEVEL": "WARNING"}
    bench = subprocess.Popen(
        [sys.executable, "-m", "hxbus", "bench", "--tiny", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        _, stderr = bench.communicate(timeout=TINY_BENCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # SIGTERM, not the SIGKILL of a plain timeout: the bench then stops its bridges,
        # the demo's roles and the demo's broker, which would be left running otherwise.
        bench.terminate()
        _, stderr = bench.communicate(timeout=120)
        pytest.fail(f"the tiny bench ran over {TINY_BENCH_TIMEOUT_S} s: {stderr.decode()[-2000:]}")
    assert 0 == bench.returncode, stderr.decode()[-2000:]
    result: dict[str, Any] = json.loads(Path(out).read_text())
    return result


@pytest.mark.slow
def test_bench_writes_every_section(bench_result: dict[str, Any]) -> None:
    """The JSON has the machine and every measurement."""
    expected = {
        "machine",
        "publish",
        "bridge",
        "workers",
        "transports",
        "latency",
        "demo",
        "codec",
        "translation",
        "memory",
    }
    assert expected == expected & set(bench_result)


@pytest.mark.slow
def test_bench_marks_its_result_complete_with_each_sections_seconds(
    bench_result: dict[str, Any],
) -> None:
    """The finished file says it is complete, names no failure, and has the seconds of
    every section, provisioning first."""
    sections = list(bench_result["section_seconds"])
    some = {"publish", "bridge", "alert_register", "latency", "demo"}
    assert [True, None, "provision", some] == [
        bench_result["complete"],
        bench_result.get("failed"),
        sections[0],
        some & set(sections),
    ]


@pytest.mark.slow
def test_bench_runs_the_demo_on_a_broker_of_its_own(bench_result: dict[str, Any]) -> None:
    """The demo's set-up ran on another broker than the bench's (not on its history)."""
    assert True is (bench_result["demo"]["broker"]["bootstrap"] != bench_result["bootstrap"])


def test_bench_without_a_broker_names_the_failed_section_and_keeps_the_file(
    tmp_path: Path,
) -> None:
    """With no broker at HX_BOOTSTRAP the bench ends at once with one line naming the
    section, and its result file says the same (incomplete)."""
    with socket.socket() as probe:  # a port the system just gave out: nobody listens there
        probe.bind(("127.0.0.1", 0))
        unused_port = probe.getsockname()[1]
    out = tmp_path / "bench.json"
    env = {**os.environ, "HX_BOOTSTRAP": f"127.0.0.1:{unused_port}", "HX_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "hxbus", "bench", "--tiny", "--out", str(out)],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    result = json.loads(out.read_text())
    reason = f"no Kafka broker answers at 127.0.0.1:{unused_port} (HX_BOOTSTRAP)"
    assert [1, [f"hxbus: BenchFailed: section provision failed: {reason}"], False, reason] == [
        done.returncode,
        done.stderr.decode().splitlines()[-1:],
        result["complete"],
        result["failed"]["reason"],
    ]


@pytest.mark.slow
def test_bench_publish_compares_hxbus_with_raw(bench_result: dict[str, Any]) -> None:
    """Both publish rates are positive and the ratio is hxbus over raw."""
    publish = bench_result["publish"]
    assert (True, True) == (publish["hxbus_events_per_s"] > 0, publish["raw_events_per_s"] > 0)
    expected = round(publish["hxbus_events_per_s"] / publish["raw_events_per_s"], 2)
    assert expected == pytest.approx(publish["ratio"], abs=0.01)


@pytest.mark.slow
def test_bench_measures_a_bridge_per_province(
    bench_result: dict[str, Any], agreement: Agreement
) -> None:
    """Every province's bridge read records, at a positive rate, with its peak RSS."""
    bridge = bench_result["bridge"]
    assert set(agreement.provinces) == set(bridge)
    for province, figures in bridge.items():
        positive = {k: figures[k] > 0 for k in ("records", "bridge_events_per_s", "peak_rss_mb")}
        assert dict.fromkeys(positive, True) == positive, province


@pytest.mark.slow
def test_bench_compares_one_bridge_worker_with_two(bench_result: dict[str, Any]) -> None:
    """One worker and ``--workers 2`` both read records at a positive rate; the ratio is two
    over one; the RSS of the supervisor and of each of its two workers is there."""
    workers = bench_result["workers"]
    one, two = workers["runs"]["1"], workers["runs"]["2"]
    rates = [one["events_per_s"] > 0, two["events_per_s"] > 0]
    memory = [two["supervisor_peak_rss_mb"] > 0, [w > 0 for w in two["workers_peak_rss_mb"]]]
    assert [[True, True], [True, [True, True]]] == [rates, memory]
    expected = round(two["events_per_s"] / one["events_per_s"], 2)
    assert expected == pytest.approx(workers["ratio"], abs=0.01)


@pytest.mark.slow
def test_bench_says_how_the_workers_shared_the_partitions(bench_result: dict[str, Any]) -> None:
    """Each run lists, per worker, the partitions it held once the group settled (one
    worker: all of them) and the records it finished (together those measured)."""
    workers = bench_result["workers"]
    one, two = workers["runs"]["1"], workers["runs"]["2"]
    assert [[workers["partitions"]], True, True, True] == [
        one["partitions_per_worker"],
        sum(one["records_per_worker"]) == one["records_measured"],
        sum(two["records_per_worker"]) == two["records_measured"],
        all(0 < n <= workers["partitions"] for n in two["partitions_per_worker"]),
    ]


@pytest.mark.slow
def test_bench_compares_both_transports(bench_result: dict[str, Any]) -> None:
    """The transports section: the four publishing sides and one bridge on each transport,
    every rate positive (it once hung in this tiny run, and was left out of it)."""
    transports = bench_result["transports"]
    sides = ("raw_kafka_python", "hxbus_kafka_python", "raw_librdkafka", "hxbus_librdkafka")
    rates = [transports["publish"][f"{side}_events_per_s"] for side in sides]
    bridge = transports["bridge"]
    rates += [bridge[c]["bridge_events_per_s"] for c in ("kafka-python", "librdkafka")]
    assert [True] * 6 == [rate > 0 for rate in rates]


@pytest.mark.slow
def test_bench_latency_has_percentiles_from_delivered_files(bench_result: dict[str, Any]) -> None:
    """Each latency step delivered files and reports ordered percentiles."""
    for step in bench_result["latency"]["steps"]:
        assert True is (step["delivered"] > 0), step
        ordered = [step[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")]
        assert sorted(ordered) == ordered


@pytest.mark.slow
def test_bench_measures_the_demo_set_up(bench_result: dict[str, Any], agreement: Agreement) -> None:
    """The demo's set-up (four bridges, tracker, signed traffic) delivered files to every
    province, and each province's percentiles are ordered."""
    demo = bench_result["demo"]
    assert set(agreement.provinces) == set(demo["provinces"])
    unordered = {
        name: figures
        for name, figures in [("all", demo["all"]), *demo["provinces"].items()]
        if figures["count"] <= 0
        or sorted(figures[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
        != [figures[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")]
    }
    assert {} == unordered


@pytest.mark.slow
def test_bench_micro_figures_cover_every_type_and_province(
    bench_result: dict[str, Any], agreement: Agreement
) -> None:
    """Codec figures for every event type, translation figures for every province."""
    assert set(EVENT_TYPES) == set(bench_result["codec"])
    assert set(agreement.provinces) == set(bench_result["translation"])
    rates = [v for c in bench_result["codec"].values() for k, v in c.items() if k != "events"]
    rates += [t["to_local_per_s"] for t in bench_result["translation"].values()]
    assert [] == [rate for rate in rates if rate <= 0]
    assert True is (bench_result["memory"]["bridge_peak_rss_mb"] > 0)
