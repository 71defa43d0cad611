"""The benchmark's events: the synthetic mix, with free text long enough for ~1–2 KB.

``SyntheticTraffic`` gives the contract's types in realistic proportions and relations,
but with one-line texts (450–750 bytes a message). A duty officer's alert or hit report
carries a paragraph, so each event's main free-text field is lengthened with seeded
sentences until the message (value, key and headers) weighs 1,000–1,800 bytes. Every
event is still valid: only free text changes, and the Publisher validates it anyway.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from producers import MessageBuilder, SyntheticTraffic, stamped_at
from schemas import Agreement, ExchangeEvent, new_message_id, utc_now_ms

#: The free-text field lengthened per event type (a dotted path into the record).
TEXT_FIELDS = {
    "PersonAlert": "subject.description",
    "VehicleAlert": "reason",
    "AlertStatusChange": "reason",
    "AlertHit": "details",
    "HitConfirmation": "note",
    "AssistanceRequest": "description",
    "AssistanceResponse": "message",
}
SENTENCES = (
    "经前期侦查，该人员近期多次出现在辖区内的汽车站及周边旅馆。",
    "卡口抓拍显示车辆于凌晨时段沿国道向东行驶，车内可见两名男子。",
    "请各协作单位注意核对身份信息，发现后立即反馈并做好现场控制。",
    "据知情人反映，嫌疑人可能使用他人身份证件办理住宿登记。",
    "现场民警已调取周边监控录像，正在进一步比对分析。",
    "该车辆曾套用其他号牌，车身右侧有明显刮痕，后挡风玻璃贴有深色膜。",
    "请协助核查其在贵辖区的活动轨迹及落脚点，并及时通报核查结果。",
)
MIN_BYTES, MAX_BYTES = 1_000, 1_800


def bench_events(agreement: Agreement, count: int, *, seed: int = 2026) -> list[ExchangeEvent]:
    """``count`` valid events of the synthetic mix, each message 1,000–1,800 bytes."""
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not secrets
    start = datetime.now(UTC).replace(microsecond=0)
    traffic = SyntheticTraffic(agreement, seed=seed, start=start, spacing=timedelta(milliseconds=1))
    builder = MessageBuilder(agreement)
    return [_lengthen(event, builder, rng) for event in traffic.take(count)]


def restamped(event: ExchangeEvent) -> ExchangeEvent:
    """The event with a new message id and ``created_at`` = now (latency and bridge runs),
    every time of its record moved by as much (``producers.stamped_at``)."""
    stamped = stamped_at(event, utc_now_ms())
    envelope = dataclasses.replace(stamped.envelope, message_id=new_message_id())
    return ExchangeEvent(envelope, stamped.record)


def message_bytes(event: ExchangeEvent, builder: MessageBuilder) -> int:
    """Bytes of the event's first message: value, key and headers."""
    _, messages = builder.build(event)
    first = messages[0]
    return len(first.value) + len(first.key) + sum(len(k) + len(v) for k, v in first.headers)


def _lengthen(event: ExchangeEvent, builder: MessageBuilder, rng: random.Random) -> ExchangeEvent:
    target = rng.randint(MIN_BYTES, MAX_BYTES)
    missing = target - message_bytes(event, builder)
    if missing <= 0:
        return event
    text: list[str] = []
    while sum(len(s.encode()) for s in text) < missing:
        text.append(rng.choice(SENTENCES))
    record = _with_text(event.record, TEXT_FIELDS[event.event_type], "".join(text))
    return ExchangeEvent(event.envelope, record)


def _with_text(record: dict[str, object], path: str, extra: str) -> dict[str, object]:
    head, _, rest = path.partition(".")
    copy = dict(record)
    if rest:
        inner = copy[head]
        assert isinstance(inner, dict)
        copy[head] = _with_text(inner, rest, extra)
    else:
        current = copy.get(head)
        copy[head] = f"{current}{extra}" if current else extra
    return copy
