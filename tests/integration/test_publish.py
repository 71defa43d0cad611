"""Publishing on the real broker: ``hxbus publish`` end to end, and a broker killed mid-batch.

What was published is read back by a plain consumer written with kafka-python and
fastavro alone (``PlainReader``), not with hxbus code, so a bug shared by the writer and
our own reader cannot hide. The agreement's topics are shared with other tests: every
check looks only at the message ids this test wrote, between the offsets it was given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_reader
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form
from own_broker_support import free_port_pair
from raw_kafka import KafkaTopicPartition, raw_consumer

from hxbus import broker
from producers import Publisher, PublishOutcome, RateMeter, SyntheticTraffic, TokenBucket, paced
from runtime import Settings, open_admin, run_provisioning
from runtime.kafka import NewTopic
from schemas import EVENT_TYPES, KEY_FIELDS, Agreement, ExchangeEvent, parse_event, utc_now_ms
from schemas.errors import BrokerUnavailable, ValidationFailed

pytestmark = pytest.mark.broker

AVRO_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"
HXBUS = [sys.executable, "-m", "hxbus"]


# -- a consumer that knows nothing of hxbus -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadBack:
    """One message as a plain consumer sees it."""

    topic: str
    key: bytes
    headers: dict[str, bytes]
    event_type: str
    record: dict[str, Any]


class PlainReader:
    """kafka-python + fastavro only: finds the writer schema by the value's fingerprint."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.schemas: dict[bytes, tuple[str, Any]] = {}
        for event_type in EVENT_TYPES:
            schema = load_schema(str(AVRO_DIR / f"hx.exchange.{event_type}.avsc"))
            canonical = to_parsing_canonical_form(schema)
            self.schemas[bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))] = (
                event_type,
                schema,
            )

    def read(self, ranges: dict[tuple[str, int], tuple[int, int]]) -> list[ReadBack]:
        """Every message at offsets first..last (inclusive) of each (topic, partition)."""
        consumer = raw_consumer(Settings(bootstrap=self.bootstrap), consumer_timeout_ms=10_000)
        try:
            partitions = [KafkaTopicPartition(t, p) for t, p in ranges]
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, ranges[(tp.topic, tp.partition)][0])
            wanted = {tp: ranges[(tp.topic, tp.partition)][1] for tp in partitions}
            messages: list[ReadBack] = []
            while wanted:
                batch = consumer.poll(timeout_ms=2000, max_records=5000)
                if not batch:
                    raise AssertionError(f"nothing more to read, still waiting for {wanted}")
                for tp, records in batch.items():
                    for message in records:
                        if tp in wanted and message.offset <= wanted[tp]:
                            messages.append(self._decode(message))
                        if tp in wanted and message.offset >= wanted[tp]:
                            del wanted[tp]
                            consumer.pause(tp)
            return messages
        finally:
            consumer.close()

    def _decode(self, message: Any) -> ReadBack:
        value: bytes = message.value
        assert b"\xc3\x01" == value[:2]
        event_type, schema = self.schemas[value[2:10]]
        body = BytesIO(value[10:])
        record = schemaless_reader(body, schema, None)
        assert len(value) - 10 == body.tell()  # nothing left over
        headers = dict(message.headers)
        return ReadBack(message.topic, message.key, headers, event_type, record)


def ranges_of(receipts: list[tuple[str, int, int]]) -> dict[tuple[str, int], tuple[int, int]]:
    """The offset span each (topic, partition) received."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for topic, partition, offset in receipts:
        low, high = spans.get((topic, partition), (offset, offset))
        spans[(topic, partition)] = (min(low, offset), max(high, offset))
    return spans


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provisioned(kafka_bootstrap: str, agreement: Agreement) -> str:
    """The agreement's topics exist on the test broker (idempotent, shared with others)."""
    run_provisioning(Settings(bootstrap=kafka_bootstrap), agreement)
    return kafka_bootstrap


def run_hxbus(
    bootstrap: str, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    # No lookup service runs for these tests: need-to-know alerts go without asking it
    # (tests/integration/test_need_to_know_acl.py runs one and checks the lookup).
    env = {
        **os.environ,
        "HX_BOOTSTRAP": bootstrap,
        "HX_LOG_LEVEL": "WARNING",
        "HX_LOOKUP_TIMEOUT_S": "0",
    }
    return subprocess.run(
        [*HXBUS, *args], input=stdin, capture_output=True, env=env, timeout=240, check=False
    )


def simulated_lines(bootstrap: str, count: int, seed: int) -> list[str]:
    """``hxbus simulate --dry-run`` output: ``count`` NDJSON lines, events from now on."""
    start = utc_now_ms().isoformat()
    done = run_hxbus(
        bootstrap, "simulate", "--dry-run", "--rate", str(count), "--duration", "1",
        "--seed", str(seed), "--start", start,
    )  # fmt: skip
    assert (0, b"") == (done.returncode, done.stderr)
    return done.stdout.decode().splitlines()


#: The recipients (issuer first) of each need-to-know alert copy_ids has seen.
_RESTRICTED: dict[str, list[str]] = {}


def copy_ids(event: dict[str, Any]) -> list[str]:
    """The message ids one JSON event is sent as: its id, or one uuid5 per request target,
    per recipient of a need-to-know alert and of its status changes (events in order); a
    hit or request also uuid5(id, source), the sender's copy in its own inbox."""
    data, base = event["data"], uuid.UUID(event["id"])
    sender_copy = [str(uuid.uuid5(base, event["source"]))]
    if event["type"] == "AssistanceRequest":
        targets = data["target_agencies"]
        return [str(uuid.uuid5(base, target)) for target in targets] + sender_copy
    if event["type"] == "AlertHit":
        return [event["id"], *sender_copy]
    if event["type"] in ("PersonAlert", "VehicleAlert"):
        if data["handling"] == "SHARE_ALL_PARTNERS":
            return [event["id"]]
        recipients = list(dict.fromkeys([data["issuing_agency"], *sorted(data["share_with"])]))
        _RESTRICTED[data["alert_id"]] = recipients
        return [str(uuid.uuid5(base, target)) for target in recipients]
    if event["type"] == "AlertStatusChange" and data["alert_id"] in _RESTRICTED:
        return [str(uuid.uuid5(base, target)) for target in _RESTRICTED[data["alert_id"]]]
    return [event["id"]]


def ok_lines(stdout: bytes) -> list[tuple[str, str, int, int]]:
    """``ok <id> <topic>/<partition>@<offset>`` lines as (id, topic, partition, offset)."""
    parsed = []
    for line in stdout.decode().splitlines():
        if line.startswith("ok "):
            _, message_id, where = line.split(" ")
            topic, _, rest = where.rpartition("/")
            partition, _, offset = rest.partition("@")
            parsed.append((message_id, topic, int(partition), int(offset)))
    return parsed


# -- publish through the command line ------------------------------------------------------


@pytest.mark.slow
def test_ten_thousand_events_via_cli_are_each_read_back_once(
    provisioned: str, tmp_path: Path
) -> None:
    """10,000 simulated events published by ``hxbus publish``: each copy read back once."""
    lines = simulated_lines(provisioned, 10_000, seed=20)
    by_source: dict[str, list[str]] = {}
    for line in lines:
        by_source.setdefault(json.loads(line)["source"], []).append(line)
    expected: dict[str, tuple[str, bytes]] = {}  # message id -> (type, key)
    for line in lines:
        event = json.loads(line)
        key = event["data"][KEY_FIELDS[event["type"]]].encode()
        expected.update(dict.fromkeys(copy_ids(event), (event["type"], key)))

    printed: list[tuple[str, str, int, int]] = []
    statuses = {}
    for source, chunk in sorted(by_source.items()):
        path = tmp_path / f"{source}.ndjson"
        path.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        done = run_hxbus(provisioned, "publish", "--as", source, str(path))
        statuses[source] = (done.returncode, done.stdout.decode().count("\n"))
        printed.extend(ok_lines(done.stdout))

    copies = {s: sum(len(copy_ids(json.loads(line))) for line in c) for s, c in by_source.items()}
    assert {s: (0, copies[s]) for s in by_source} == statuses
    assert sorted(expected) == sorted(message_id for message_id, *_ in printed)

    read = PlainReader(provisioned).read(ranges_of([(t, p, o) for _, t, p, o in printed]))
    ours = [m for m in read if m.headers["ce_id"].decode() in expected]
    seen = Counter(m.headers["ce_id"].decode() for m in ours)
    assert ({}, set()) == (
        {i: n for i, n in seen.items() if n != 1},
        set(expected) - set(seen),
    )
    assert {i: expected[i] for i in seen} == {
        m.headers["ce_id"].decode(): (m.event_type, m.key) for m in ours
    }
    # the key is the record's business id (a uuid, as fastavro decodes it)
    assert [m.key for m in ours] == [str(m.record[KEY_FIELDS[m.event_type]]).encode() for m in ours]


def test_one_invalid_line_is_reported_and_the_rest_published(
    provisioned: str, tmp_path: Path, agreement: Agreement
) -> None:
    """1,000 events with one broken on line 617: that line's error, 999 stored, exit 1."""
    lines = simulated_lines(provisioned, 12_000, seed=21)
    source = "370800000000"
    mine = [line for line in lines if json.loads(line)["source"] == source][:1000]
    assert 1000 == len(mine)
    bad_line = 617
    broken = json.loads(mine[bad_line - 1])
    first_field = next(iter(broken["data"]))
    del broken["data"][first_field]
    mine[bad_line - 1] = json.dumps(broken, ensure_ascii=False)
    with pytest.raises(ValidationFailed) as refused:  # the issue hxbus finds in it
        parse_event(broken, agreement)
    expected_issues = [str(issue) for issue in refused.value.issues]
    path = tmp_path / "thousand.ndjson"
    path.write_text("\n".join(mine) + "\n", encoding="utf-8")

    done = run_hxbus(provisioned, "publish", "--as", source, str(path))

    errors = [line for line in done.stdout.decode().splitlines() if not line.startswith("ok ")]
    good = [json.loads(line) for n, line in enumerate(mine, 1) if n != bad_line]
    assert (1, [f"{path}:{bad_line}: {issue}" for issue in expected_issues]) == (
        done.returncode,
        errors,
    )
    assert sorted(i for e in good for i in copy_ids(e)) == sorted(
        message_id for message_id, *_ in ok_lines(done.stdout)
    )


def test_event_of_another_source_is_refused_by_name(provisioned: str, tmp_path: Path) -> None:
    """``--as`` is the only source a desk may publish: another one is refused, exit 1."""
    line = simulated_lines(provisioned, 1, seed=22)[0]
    source = json.loads(line)["source"]
    other = "341300000000" if source != "341300000000" else "320300000000"
    path = tmp_path / "one.json"
    path.write_text(line, encoding="utf-8")
    done = run_hxbus(provisioned, "publish", "--as", other, str(path))
    assert (1, f"{path}:1: source: is {source}, but publishing as {other}\n") == (
        done.returncode,
        done.stdout.decode(),
    )


def test_unreadable_file_exits_2(provisioned: str, tmp_path: Path) -> None:
    """A file that is not JSON at all is named on stderr and the exit status is 2."""
    path = tmp_path / "garbage.ndjson"
    path.write_bytes(b"\xff\xfe not json\n")
    done = run_hxbus(provisioned, "publish", "--as", "320300000000", str(path))
    assert (2, b"") == (done.returncode, done.stdout)
    assert str(path) in done.stderr.decode()


def test_target_option_addresses_untargeted_hits(
    provisioned: str, tmp_path: Path, agreement: Agreement
) -> None:
    """``--target`` sends a hit without hxtarget to that agency's inbox (and the sender's
    copy to the reporter's own)."""
    lines = simulated_lines(provisioned, 300, seed=23)
    hit = next(json.loads(line) for line in lines if json.loads(line)["type"] == "AlertHit")
    issuer = hit.pop("hxtarget")
    path = tmp_path / "hit.json"
    path.write_text(json.dumps(hit, ensure_ascii=False), encoding="utf-8")

    without = run_hxbus(provisioned, "publish", "--as", hit["source"], str(path))
    with_target = run_hxbus(
        provisioned, "publish", "--as", hit["source"], "--target", issuer, str(path)
    )

    assert 1 == without.returncode
    assert f"{path}:1: hxtarget:" in without.stdout.decode()
    senders_copy = (
        str(uuid.uuid5(uuid.UUID(hit["id"]), hit["source"])),
        f"hx.inbox.{hit['source']}",
    )
    assert [(hit["id"], f"hx.inbox.{issuer}"), senders_copy] == [
        (message_id, topic) for message_id, topic, *_ in ok_lines(with_target.stdout)
    ]


# -- the broker dies mid-batch -----------------------------------------------------------


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[broker.Cluster]:
    """A dedicated single-node broker this test may kill; stopped afterwards."""
    root = tmp_path / "own-broker"
    cluster = broker.start_cluster(root, nodes=1, port=free_port_pair(), timeout=120)
    try:
        yield cluster
    finally:
        broker.stop_cluster(root)


def _person_alerts(agreement: Agreement, count: int, seed: int) -> list[ExchangeEvent]:
    """Broadcast PersonAlerts (all on hx.alerts.person, the one topic the broker has)."""
    traffic = SyntheticTraffic(agreement, seed=seed, start=utc_now_ms())
    alerts: list[ExchangeEvent] = []
    while len(alerts) < count:
        event = traffic.next_event()
        if event.event_type == "PersonAlert" and event.record["handling"] == "SHARE_ALL_PARTNERS":
            alerts.append(event)
    return alerts


@pytest.mark.slow
def test_broker_killed_mid_batch_loses_nothing_reported_ok(
    own_broker: broker.Cluster, agreement: Agreement
) -> None:
    """SIGKILL the broker mid-batch: every ok is in the log after restart; the rest failed
    with BrokerUnavailable, and the caller was told."""
    _create_person_topic(own_broker.bootstrap)
    alerts = _person_alerts(agreement, 3000, seed=31)
    outcomes: list[PublishOutcome] = []
    kill_after = 400
    settings = Settings(bootstrap=own_broker.bootstrap)
    with Publisher(settings, agreement, delivery_timeout_ms=4000, window=500) as publisher:
        steady = paced(alerts, TokenBucket(1000), RateMeter())  # three seconds of sending
        for outcome in publisher.publish_many(steady):
            outcomes.append(outcome)
            if len(outcomes) == kill_after:
                broker.kill_node(own_broker, 1)
    ok = {o.event.envelope.message_id for o in outcomes if o.ok}
    failures = [o.error for o in outcomes if not o.ok]

    broker.start_node(own_broker, 1)
    broker.wait_until_ready(own_broker, timeout=120)
    logged = Counter(_all_ce_ids(own_broker.bootstrap, "hx.alerts.person"))

    assert (3000, True, True) == (len(outcomes), len(ok) >= kill_after, len(failures) > 0)
    assert {BrokerUnavailable} == {type(error) for error in failures}
    assert set() == ok - set(logged)
    assert {} == {i: n for i, n in logged.items() if n > 1}


@pytest.mark.slow
def test_publisher_sends_again_once_the_broker_is_back(
    own_broker: broker.Cluster, agreement: Agreement
) -> None:
    """After an outage longer than the delivery timeout, the same Publisher delivers again
    (kafka-python's idempotent producer wedges; the Publisher replaces it)."""
    _create_person_topic(own_broker.bootstrap)
    before, during, after = (_person_alerts(agreement, 300, seed=s) for s in (41, 42, 43))
    settings = Settings(bootstrap=own_broker.bootstrap)
    with Publisher(settings, agreement, delivery_timeout_ms=3000) as publisher:
        first = list(publisher.publish_many(before))
        broker.kill_node(own_broker, 1)
        second = list(publisher.publish_many(paced(during, TokenBucket(200))))
        broker.start_node(own_broker, 1)
        broker.wait_until_ready(own_broker, timeout=120)  # it answers metadata again
        third = list(publisher.publish_many(after))  # at once: no pause for the Publisher
    logged = set(_all_ce_ids(own_broker.bootstrap, "hx.alerts.person"))

    assert ({True}, {BrokerUnavailable}, {True}) == (
        {o.ok for o in first},
        {type(o.error) for o in second},
        {o.ok for o in third},
    )
    assert set() == {o.event.envelope.message_id for o in first + third} - logged


def _create_person_topic(bootstrap: str) -> None:
    admin = open_admin(Settings(bootstrap=bootstrap))
    try:
        admin.create_topics([NewTopic("hx.alerts.person", 6, 1)])
    finally:
        admin.close()


def _all_ce_ids(bootstrap: str, topic: str) -> list[str]:
    """Every ce_id on the topic, read from the beginning to the end offsets of now."""
    consumer = raw_consumer(Settings(bootstrap=bootstrap))
    try:
        partitions = [KafkaTopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = {tp: end for tp, end in consumer.end_offsets(partitions).items() if end > 0}
        ids: list[str] = []
        deadline = time.monotonic() + 60
        while ends:
            assert time.monotonic() < deadline, f"log not read to its end: {ends}"
            for tp, records in consumer.poll(timeout_ms=2000).items():
                for message in records:
                    ids.append(dict(message.headers)["ce_id"].decode())
                    if message.offset >= ends.get(tp, 0) - 1:
                        ends.pop(tp, None)
        return ids
    finally:
        consumer.close()
