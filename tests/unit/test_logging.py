"""Logs: JSON lines off a terminal, a console on one; names and identity numbers never in
clear; one canonical line per handled message with the fields ops search by."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import structlog
from client_fakes import FakeConsumer, record

from consumers import (
    Checks,
    ConsumerRuntime,
    DedupeStore,
    Delivery,
    Origin,
    Polling,
    Settlement,
    Subscription,
)
from runtime import Settings, configure_logging
from runtime.kafka import TopicPartition
from runtime.logging import info_lines
from schemas import (
    DEFAULT_AGREEMENT_PATH,
    Codec,
    ExchangeEvent,
    envelope_headers,
    load_agreement,
    new_message_id,
    parse_event,
    record_key,
)

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "events" / "alert_hit_huaibei.json"
ID_NUMBER = "11010519491231002X"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_structlog() -> Any:
    yield
    structlog.reset_defaults()


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """Off a terminal, each event is one JSON object with event, level and UTC timestamp."""
    configure_logging("INFO")
    structlog.get_logger("t").info("bridge_started", province="JS")
    [line] = _lines(capsys.readouterr().err)
    assert ("bridge_started", "info", "JS", True) == (
        line["event"],
        line["level"],
        line["province"],
        line["timestamp"].endswith("Z"),
    )


def test_console_lines_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal, lines are for reading, not JSON."""
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    configure_logging("INFO")
    structlog.get_logger("t").info("bridge_started", province="JS")
    text = terminal.getvalue()
    assert ("bridge_started" in text, text.lstrip().startswith("{")) == (True, False)


def test_names_and_identity_numbers_are_masked_everywhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Names by key (also Jiangsu's GA keys, from the agreement), identity numbers by key
    and inside any text."""
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    configure_logging("INFO", personal_keys=agreement.personal_data_keys)
    structlog.get_logger("t").warning(
        "translation_failed",
        subject={"name": "张三", "name_pinyin": "ZHANG San", "id_number": ID_NUMBER},
        local={"XM": "李四", "GMSFHM": ID_NUMBER},
        officer="王五",
        error=f"subject.id_number: check digit of {ID_NUMBER} is wrong",
    )
    text = capsys.readouterr().err
    [line] = _lines(text)
    leaked = [s for s in ("张三", "ZHANG San", "李四", "王五", ID_NUMBER) if s in text]
    assert ([], "subject.id_number: check digit of 110105************ is wrong") == (
        leaked,
        line["error"],
    )


def test_a_provinces_personal_data_keys_come_from_its_spec(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A key is masked when a province's spec lists it, and not otherwise (the exchange's
    own keys always)."""
    configure_logging("INFO", personal_keys={"XINGMING"})
    structlog.get_logger("t").info("listed", local={"XINGMING": "张三", "XM": "李四"})
    configure_logging("INFO")
    structlog.get_logger("t").info("unlisted", local={"XINGMING": "张三", "name": "王五"})
    listed, unlisted = _lines(capsys.readouterr().err)
    assert ({"XINGMING": "***", "XM": "李四"}, {"XINGMING": "张三", "name": "***"}) == (
        listed["local"],
        unlisted["local"],
    )


class _Sink:
    def handle(self, message: Delivery) -> None:
        pass

    def flush(self) -> None:
        pass


class _NoDeadLetters:
    def send(self, origin: Origin, **_kwargs: Any) -> None:
        raise AssertionError("nothing should be dead-lettered")

    def flush(self) -> set[Origin]:
        return set()


def test_one_canonical_line_per_handled_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """At debug level: message_id, correlation_id, topic, partition, offset, outcome and
    duration, on one line for the handled message."""
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    parsed = parse_event(json.loads(FIXTURE.read_text(encoding="utf-8")), agreement)
    event = ExchangeEvent(parsed.envelope.evolve(correlation_id=new_message_id()), parsed.record)
    codec = Codec()
    one = record(
        "hx.inbox.340600000000",
        2,
        41,
        record_key(event.event_type, event.record),
        codec.encode(event.event_type, event.record),
        envelope_headers(event.envelope, codec.fingerprint(event.event_type)),
    )
    consumer = FakeConsumer({TopicPartition(one.topic, one.partition): [one]})
    store = DedupeStore.for_group(tmp_path, "g-logging")
    runtime = ConsumerRuntime(
        Settings(),
        Subscription("g-logging", [one.topic]),
        _Sink(),
        Checks(codec, store),
        Settlement(_NoDeadLetters()),
        Polling(consumer_factory=lambda _settings, _options: consumer, lag_every_s=0),
    )
    configure_logging("DEBUG")
    try:
        stats = runtime.run(max_messages=1)
    finally:
        store.close()
    handled = [
        line for line in _lines(capsys.readouterr().err) if line["event"] == "message_handled"
    ]
    assert 1 == stats.handled
    [line] = handled
    assert (
        event.envelope.message_id,
        event.envelope.correlation_id,
        "hx.inbox.340600000000",
        2,
        41,
        "handled",
        True,
    ) == (
        line["message_id"],
        line["correlation_id"],
        line["topic"],
        line["partition"],
        line["offset"],
        line["outcome"],
        line["duration_ms"] >= 0,
    )


def test_a_batchs_lines_are_the_lines_one_call_each_would_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """info_lines (JSON output): one line per row, with event, level, timestamp and the
    row's fields, masked like any other line."""
    configure_logging("INFO", json=True)
    logger = structlog.get_logger("t")
    info_lines(logger, "bridge_message", [{"offset": 1}, {"offset": 2, "note": ID_NUMBER}])
    lines = _lines(capsys.readouterr().err)
    assert [
        ("bridge_message", "info", 1, None, True),
        ("bridge_message", "info", 2, "110105************", True),
    ] == [
        (
            line["event"],
            line["level"],
            line["offset"],
            line.get("note"),
            line["timestamp"].endswith("Z"),
        )
        for line in lines
    ]


def test_a_batchs_lines_reach_a_capture_line_by_line() -> None:
    """info_lines under another configuration (a test's capture_logs) goes through the
    logger, one event per row."""
    configure_logging("INFO", json=True)
    with structlog.testing.capture_logs() as captured:
        info_lines(structlog.get_logger("t"), "bridge_message", [{"offset": 1}, {"offset": 2}])
    assert [1, 2] == [entry["offset"] for entry in captured]


def test_a_batchs_lines_below_the_level_are_not_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """info_lines writes nothing when the configured level is above info."""
    configure_logging("WARNING", json=True)
    info_lines(structlog.get_logger("t"), "bridge_message", [{"offset": 1}])
    assert "" == capsys.readouterr().err


class _RecordingLogger:
    """A logger whose per-row ``info`` calls are recorded (what the batch path spares)."""

    def __init__(self) -> None:
        self._context: dict[str, Any] = {"bound": "yes"}
        self.calls: list[str] = []

    def info(self, event: str, **_fields: Any) -> None:
        self.calls.append(event)


def _add_worker(_logger: Any, _name: str, event: Any) -> Any:
    event.setdefault("worker", 2)
    return event


def test_a_batchs_lines_with_a_front_processor_are_rendered_in_one_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a processor in front of the JSON chain (a bridge worker's number), info_lines
    still renders the batch itself: each line has the worker, none goes through info."""
    configure_logging("INFO", json=True)
    structlog.configure(processors=[_add_worker, *structlog.get_config()["processors"]])
    logger = _RecordingLogger()
    info_lines(logger, "bridge_message", [{"offset": 1}, {"offset": 2}])
    lines = _lines(capsys.readouterr().err)
    assert ([], [(1, 2, "yes"), (2, 2, "yes")]) == (
        logger.calls,
        [(line["offset"], line["worker"], line["bound"]) for line in lines],
    )


def test_a_batchs_lines_equal_one_info_call_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    """info_lines writes the very lines logger.info would (fields, order and values; the
    timestamp aside), with a front processor, context variables and masked values."""
    configure_logging("INFO", json=True, personal_keys=("XM",))
    structlog.configure(processors=[_add_worker, *structlog.get_config()["processors"]])
    logger = structlog.get_logger("t").bind(role="bridge")
    rows = [
        {"offset": 1, "note": ID_NUMBER, "XM": "王小", "reason": "shared"},
        {"offset": 2, "duration_ms": 0.5, "request_id": None, "worker": 7},
    ]
    structlog.contextvars.bind_contextvars(province="SD", offset=-1)
    try:
        info_lines(logger, "bridge_message", rows)
        batch = capsys.readouterr().err
        for row in rows:
            logger.info("bridge_message", **row)
        one_by_one = capsys.readouterr().err
    finally:
        structlog.contextvars.clear_contextvars()

    def without_time(text: str) -> list[list[tuple[str, Any]]]:
        return [[kv for kv in line.items() if kv[0] != "timestamp"] for line in _lines(text)]

    assert without_time(one_by_one) == without_time(batch)


def _drop_odd(_logger: Any, _name: str, event: Any) -> Any:
    if event.get("offset", 0) % 2:
        raise structlog.DropEvent
    return event


def test_a_line_a_front_processor_drops_is_not_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A processor in front of the JSON chain that drops a line drops it from the batch."""
    configure_logging("INFO", json=True)
    structlog.configure(processors=[_drop_odd, *structlog.get_config()["processors"]])
    info_lines(_RecordingLogger(), "bridge_message", [{"offset": 1}, {"offset": 2}])
    assert [2] == [line["offset"] for line in _lines(capsys.readouterr().err)]
