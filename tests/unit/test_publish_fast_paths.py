"""The publish path's fast forms give exactly what their plain forms give.

Each was written for speed (docs/benchmarks.md, the publish profile): the edge's clean
check, the fan-out message id, the signed bytes and the header caches. Each is checked
here against the plain form it replaces, over generated input.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from producers.routing import fan_out_message_id
from runtime.signing import UNSIGNED_HEADERS, signed_bytes
from schemas import Envelope, envelope_headers
from schemas.edge import HugeNumber, _walk, edge_issues
from schemas.errors import Issue

#: Text that exercises every text rule: controls, surrogates, non-characters, CJK.
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\t", "\n", "\r", "\x00", "\x1f", "\x85", "\ufffe", "\ud800", "警"]),
    ),
    max_size=12,
)
_LEAVES = st.one_of(
    _TEXT,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1]),  # the long's edges
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.builds(HugeNumber, st.integers(min_value=41, max_value=5000)),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(_TEXT, st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


def _walked(value: Any) -> list[Issue]:
    issues: list[Issue] = []
    _walk(value, "", issues)
    return issues


@given(_VALUES)
@example({"n": 2**63 - 1, "m": -(2**63)})  # the long's edges, inside
@example({"n": [2**63]})
@example(({"m": -(2**63) - 1},))
@example({"x": math.nan, "y": -math.inf})
@example({"k\x00": "v", 3: "\ud800"})
@example("\ufffe")
@example([HugeNumber(50)])
def test_edge_issues_are_those_of_the_full_walk(value: Any) -> None:
    """edge_issues finds exactly what the path-naming walk finds, clean or not."""
    assert _walked(value) == edge_issues(value)


def test_edge_issues_of_a_clean_record_with_line_breaks_are_none() -> None:
    """Tab, line feed and carriage return in free text are allowed on the fast path too."""
    record = {"details": "第一行\n第二行\r\n\t缩进", "n": [1, 2.5, None, date(2026, 1, 1)]}
    assert [] == edge_issues(record)


def test_edge_issues_name_the_path_of_a_bad_value_deep_inside() -> None:
    """A value past the fast check is still named by path and rule."""
    record = {"subject": {"aliases": ["ok", "bad\x07"]}, "n": math.inf}
    assert [
        "subject.aliases[1]",
        "n",
    ] == [issue.path for issue in edge_issues(record)]


@given(st.uuids(), st.text(max_size=30))
def test_fan_out_message_id_is_uuid5_of_the_base(base: uuid.UUID, target: str) -> None:
    """The fan-out id is uuid5(base, target), whatever the base's spelling."""
    expected = str(uuid.uuid5(base, target))
    assert (expected, expected) == (
        fan_out_message_id(str(base), target),
        fan_out_message_id(str(base).upper(), target),
    )


def _reference_signed_bytes(
    topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]], kid: str
) -> bytes:
    """docs/signing.md's "The signed bytes", written out as plainly as the page says it."""

    def field(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    covered = sorted((n, v) for n, v in headers if n not in UNSIGNED_HEADERS)
    out = field(b"hxbus-signature-v1") + field(topic.encode()) + field(key or b"")
    out += field(value) + field(kid.encode()) + len(covered).to_bytes(4, "big")
    for name, header_value in covered:
        out += field(name.encode()) + field(header_value)
    return out


_HEADER_NAMES = st.sampled_from(
    ["ce_id", "ce_source", "ce_time", "hx_signature", "hx_key_id", "hx_replay_of", "x"]
)


@given(
    st.text(max_size=20),
    st.one_of(st.none(), st.binary(max_size=40)),
    st.binary(max_size=300),
    st.lists(st.tuples(_HEADER_NAMES, st.binary(max_size=20)), max_size=8),
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
)
def test_signed_bytes_are_the_published_format(
    topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]], kid: str
) -> None:
    """signed_bytes gives docs/signing.md's bytes for any topic, key, value and headers."""
    assert _reference_signed_bytes(topic, key, value, headers, kid) == signed_bytes(
        topic, key, value, headers, kid
    )


def test_each_envelope_gets_its_own_time_and_ids() -> None:
    """Headers built one after another never carry another envelope's time, id or target."""
    first = Envelope("AlertHit", "320300000000", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    same_instant = Envelope(
        "PersonAlert",
        "370400000000",
        created_at=datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
        target="320700000000",
    )
    later = Envelope(
        "AlertHit", "320300000000", created_at=datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)
    )
    seen = [dict(envelope_headers(e)) for e in (first, same_instant, later, first)]
    expected = [
        (b"2026-01-01T00:00:00.000Z", first.message_id.encode(), None, b"320300000000"),
        (
            b"2026-01-01T00:00:00.000Z",
            same_instant.message_id.encode(),
            b"320700000000",
            b"370400000000",
        ),
        (b"2026-01-01T00:00:00.001Z", later.message_id.encode(), None, b"320300000000"),
        (b"2026-01-01T00:00:00.000Z", first.message_id.encode(), None, b"320300000000"),
    ]
    actual = [(h["ce_time"], h["ce_id"], h.get("ce_hxtarget"), h["ce_source"]) for h in seen]
    assert expected == actual
