"""The lookup service without Kafka: keyed tokens, hit/no-hit, own ids only, rate limit."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from client_fakes import FakeConsumer, FakeProducer
from prometheus_client import REGISTRY

from consumers.lookup import LookupIndex, LookupService, RateLimits, service
from runtime import Settings
from runtime.kafka import TopicPartition
from schemas import DEFAULT_AGREEMENT_PATH, load_agreement
from schemas.errors import SecurityError
from schemas.lookup import LOOKUP_REQUESTS, LookupReply, LookupRequest
from schemas.subjects import lookup_token, subject_key

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
JINING, XUZHOU, HUAIBEI = "370800000000", "320300000000", "340600000000"
NUMBER = "320303198804120419"
ALERT = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"


def alert(handling: str = "NEED_TO_KNOW", revision: int = 1) -> dict[str, Any]:
    return {
        "alert_id": ALERT,
        "revision": revision,
        "subject": {"id_number": NUMBER},
        "issuing_agency": JINING,
        "valid_until": NOW + timedelta(days=30),
        "handling": handling,
        "share_with": [HUAIBEI],
    }


def index_with(*events: tuple[str, dict[str, Any]]) -> LookupIndex:
    index = LookupIndex(b"operator-secret", clock=lambda: NOW)
    for event_type, record in events:
        index.fold(event_type, record)
    return index


def ask(index: LookupIndex, asker: str) -> LookupReply:
    return index.answer(asker, LookupRequest("r-1", subject_key("person", NUMBER)))


def test_token_depends_on_the_key() -> None:
    """The same subject gives different tokens under different lookup keys, and neither is
    the unkeyed subject key a member can compute."""
    key = subject_key("person", NUMBER)
    one, two = lookup_token(b"key-one", key), lookup_token(b"key-two", key)
    assert (False, False, False) == (one == two, key in one, NUMBER in one)


def test_issuer_sees_its_alert_id_others_only_whom_to_contact() -> None:
    """A hit shows the issuer its own alert id; another agency gets the issuer, no id."""
    index = index_with(("PersonAlert", alert()))
    assert (LookupReply("r-1", True, (JINING,), (ALERT,)), LookupReply("r-1", True, (JINING,))) == (
        ask(index, JINING),
        ask(index, XUZHOU),
    )


def test_withdrawn_alert_is_no_hit() -> None:
    """After its withdrawal the subject gives no hit."""
    change = {
        "alert_id": ALERT,
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "changed_at": NOW,
        "agency": JINING,
    }
    index = index_with(("PersonAlert", alert()), ("AlertStatusChange", change))
    assert LookupReply("r-1") == ask(index, JINING)


def test_broadcast_alerts_are_not_indexed() -> None:
    """The index holds need-to-know alerts only (the register covers the others)."""
    assert 0 == len(index_with(("PersonAlert", alert("SHARE_ALL_PARTNERS"))))


def test_index_entry_holds_no_number() -> None:
    """The written entry: id, issuer, revision, status, validity, keyed token; no number."""
    (entry,) = index_with(("PersonAlert", alert())).entries()
    text = entry.to_json().decode()
    assert (False, True) == (NUMBER in text, json.loads(text)["token"].startswith("token:"))


def test_rate_limit_per_agency() -> None:
    """Past its burst an agency is refused until time refills it; others are not."""
    limits = RateLimits(rate_per_s=1.0, burst=2.0)
    answers = [limits.allow(JINING, now=0.0) for _ in range(3)]
    assert ([True, True, False], True, True) == (
        answers,
        limits.allow(XUZHOU, now=0.0),
        limits.allow(JINING, now=1.0),
    )


@dataclass
class _Record:
    value: bytes
    headers: list[tuple[str, bytes]]
    topic: str = "hx.lookup.requests"
    key: bytes | None = None
    offset: int = 0


@dataclass
class _Producer:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def send(self, topic: str, *, key: bytes, value: bytes) -> None:
        self.sent.append((topic, value))


def test_service_answers_on_the_askers_topic_and_counts_without_values() -> None:
    """An answer goes to hx.lookup.replies.<asker>; the count is labelled by agency and
    outcome only."""
    producer = _Producer()
    service = LookupService(index_with(("PersonAlert", alert())), [JINING, XUZHOU], producer)
    before = hits(XUZHOU)
    request = LookupRequest("r-9", subject_key("person", NUMBER)).to_json()
    service.handle_request(_Record(request, [("ce_source", XUZHOU.encode())]))
    (topic, value), *_ = producer.sent
    assert (f"hx.lookup.replies.{XUZHOU}", LookupReply("r-9", True, (JINING,))) == (
        topic,
        LookupReply.from_json(value),
    )
    assert 1 == hits(XUZHOU) - before


def hits(agency: str) -> float:
    labels = {"agency": agency, "outcome": "hit"}
    return REGISTRY.get_sample_value("hx_lookups_total", labels) or 0.0


class _Refusing:
    """A verifier that refuses every message (a forged or unsigned question)."""

    def verify(self, message: Any) -> None:
        raise SecurityError("hx_signature: missing")


def test_question_that_does_not_verify_is_refused_unanswered() -> None:
    """A question whose signature does not verify gets ``refused: unverified``, no answer."""
    producer = _Producer()
    service = LookupService(
        index_with(("PersonAlert", alert())), [XUZHOU], producer, verifier=_Refusing()
    )
    request = LookupRequest("r-5", subject_key("person", NUMBER)).to_json()
    service.handle_request(_Record(request, [("ce_source", XUZHOU.encode())]))
    assert [LookupReply("r-5", refused="unverified")] == [
        LookupReply.from_json(value) for _, value in producer.sent
    ]


def test_run_stops_once_idle_after_joining(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``idle_timeout`` the service returns by itself once it held its requests' partition
    and nothing arrived (the stop event is never set)."""
    requests = TopicPartition(LOOKUP_REQUESTS, 0)
    consumers = iter([FakeConsumer({}), FakeConsumer({requests: []})])
    monkeypatch.setattr(service, "load_index", lambda *_a, **_k: (set(), {}))
    monkeypatch.setattr(service, "open_producer", lambda *_a, **_k: FakeProducer())
    monkeypatch.setattr(service, "open_consumer", lambda *_a, **_k: next(consumers))
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    settings = Settings(bootstrap="127.0.0.1:1", state_dir=tmp_path)
    answered = service.run_lookup(settings, agreement, stop=threading.Event(), idle_timeout=0.3)
    assert 0 == answered
