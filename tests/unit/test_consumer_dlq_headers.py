"""DLQ entries: the headers added to a poison message, and reading them back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers import DeadLetter, dead_letter_headers
from hxbus.commands.dlq import list_line
from schemas.errors import (
    AuthorityRefused,
    Issue,
    SecurityError,
    TranslationError,
    UnknownSchema,
    ValidationFailed,
)
from schemas.timestamps import format_time

ORIGINAL = [
    ("ce_specversion", b"1.0"),
    ("ce_id", b"6f1c0b4e-1d2a-4b7e-9a55-0c3f7f1e2d11"),
    ("ce_source", b"341300000000"),
    ("ce_type", b"AlertHit"),
    ("ce_time", b"2025-03-01T07:59:59.000Z"),
    ("content-type", b"application/avro"),
]
CLOUDEVENT_REQUIRED = {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}
NOW = datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)


def _headers(**overrides: object) -> list[tuple[str, bytes]]:
    arguments: dict[str, object] = {
        "error": UnknownSchema("fingerprint 0011223344556677 is not in the catalog"),
        "reason": "unknown_schema",
        "topic": "hx.inbox.320300000000",
        "partition": 2,
        "offset": 1234,
        "group": "bridge-jiangsu",
        "now": NOW,
    }
    arguments.update(overrides)
    original = arguments.pop("original", ORIGINAL)
    return dead_letter_headers(original, **arguments)  # type: ignore[arg-type]


def test_entry_keeps_original_headers_and_adds_why_and_where() -> None:
    """The original headers come first, unchanged, then the hx_dlq_* headers."""
    assert [
        *ORIGINAL,
        ("hx_dlq_reason", b"unknown_schema"),
        ("hx_dlq_error_class", b"UnknownSchema"),
        ("hx_dlq_message", b"fingerprint 0011223344556677 is not in the catalog"),
        ("hx_dlq_topic", b"hx.inbox.320300000000"),
        ("hx_dlq_partition", b"2"),
        ("hx_dlq_offset", b"1234"),
        ("hx_dlq_group", b"bridge-jiangsu"),
        ("hx_dlq_time", b"2025-03-01T08:00:00.123Z"),
    ] == _headers()


def test_older_dlq_headers_are_replaced_not_repeated() -> None:
    """A message dead-lettered again carries one set of hx_dlq_* headers, the new one."""
    headers = _headers(original=[*ORIGINAL, ("hx_dlq_reason", b"invalid")])
    assert [b"unknown_schema"] == [v for k, v in headers if k == "hx_dlq_reason"]


def test_replayed_message_records_its_replay_count() -> None:
    """A replayed message (hx_replay_count 2) that fails again says so in hx_dlq_replay_count."""
    headers = _headers(original=[*ORIGINAL, ("hx_replay_of", b"17"), ("hx_replay_count", b"2")])
    assert ("hx_dlq_replay_count", b"2") == headers[-1]


def test_first_failure_has_no_replay_count() -> None:
    """hx_dlq_replay_count appears only on replays."""
    assert [] == [k for k, _ in _headers() if k == "hx_dlq_replay_count"]


def test_entry_of_a_message_without_cloudevents_headers_is_a_complete_cloudevent() -> None:
    """Headers an original lacked are added (group as source, DeadLetter) and listed."""
    headers = dict(_headers(original=[("ce_id", b"6f1c0b4e-1d2a-4b7e-9a55-0c3f7f1e2d11")]))
    assert (set(), b"6f1c0b4e-1d2a-4b7e-9a55-0c3f7f1e2d11", b"bridge-jiangsu", b"DeadLetter") == (
        CLOUDEVENT_REQUIRED - set(headers),
        headers["ce_id"],
        headers["ce_source"],
        headers["ce_type"],
    )
    assert (
        b"ce_specversion,ce_source,ce_type,ce_time,content-type",
        b"2025-03-01T08:00:00.123Z",
    ) == (
        headers["hx_dlq_added"],
        headers["ce_time"],
    )


def test_replay_leaves_out_the_cloudevents_headers_the_entry_added() -> None:
    """original_headers() of an entry that completed a bare message is the bare message's."""
    bare = [("x-partner", b"1")]
    assert bare == _entry(_headers(original=bare)).original_headers()


def test_long_error_text_is_cut() -> None:
    """An error text is cut to 2,000 characters, the cut marked with an ellipsis."""
    headers = dict(_headers(error=TranslationError("x" * 5000), reason="untranslatable"))
    assert (2000, "…") == (
        len(headers["hx_dlq_message"].decode()),
        headers["hx_dlq_message"].decode()[-1],
    )


def test_error_without_text_is_named_by_its_class() -> None:
    """An exception without a message still leaves a readable hx_dlq_message."""
    assert (
        b"KeyError" == dict(_headers(error=KeyError(), reason="unexpected_error"))["hx_dlq_message"]
    )


def test_format_time_is_utc_with_milliseconds() -> None:
    """Times in DLQ headers are UTC with milliseconds and a Z."""
    east8 = datetime.fromisoformat("2025-03-01T16:00:00.999999+08:00")
    assert "2025-03-01T08:00:00.999Z" == format_time(east8)


def _entry(headers: list[tuple[str, bytes]], partition: int = 0) -> DeadLetter:
    return DeadLetter(partition, 17, NOW, b"key", b"\xc3\x01", headers)


def test_dead_letter_reads_back_what_the_headers_say() -> None:
    """A DLQ entry read back names its reason, origin and message id."""
    entry = _entry(_headers())
    assert (
        "unknown_schema",
        "UnknownSchema",
        "hx.inbox.320300000000",
        2,
        1234,
        "6f1c0b4e-1d2a-4b7e-9a55-0c3f7f1e2d11",
        0,
    ) == (
        entry.reason,
        entry.error_class,
        entry.origin_topic,
        entry.origin_partition,
        entry.origin_offset,
        entry.message_id,
        entry.replay_count,
    )


def test_original_headers_drop_dlq_and_replay_headers() -> None:
    """A replay re-sends only the headers the message had when it was first published."""
    headers = _headers(original=[*ORIGINAL, ("hx_replay_of", b"3"), ("hx_replay_count", b"1")])
    assert ORIGINAL == _entry(headers).original_headers()


def test_entry_id_is_the_offset_or_partition_and_offset() -> None:
    """On the one-partition DLQ an entry is named by its offset alone."""
    assert ("17", "2:17") == (_entry([]).entry_id, _entry([], partition=2).entry_id)


def test_list_line_masks_identity_numbers() -> None:
    """dlq list shows no personal data: an identity number in an error text is masked."""
    error = SecurityError("subject.id_number 11010519491231002X: check character is X")
    line = list_line(_entry(_headers(error=error, reason="invalid")))
    assert (False, True) == ("11010519491231002X" in line, "110105************" in line)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("invalid literal for int() with base 10: 'ZHANG SAN'"), "ValueError"),
        (
            ValidationFailed(
                [Issue("subject.id_number", "check character is 7, expected X"), Issue("", "x")]
            ),
            "broken rules at (event), subject.id_number",
        ),
        (TranslationError("name_pinyin: is not ASCII"), "name_pinyin: is not ASCII"),
    ],
)
def test_dlq_message_holds_field_paths_and_rules_never_values(
    error: BaseException, expected: str
) -> None:
    """hx_dlq_message: a bug's class name only; broken rules by field path; our texts."""
    headers = dict(_headers(error=error, reason="any"))
    assert expected == headers["hx_dlq_message"].decode()


def test_authority_refusal_names_its_rule() -> None:
    """An entry refused by an authority rule carries the rule in hx_dlq_rule."""
    refused = AuthorityRefused("status_not_by_issuer", "alert a1 was issued by 370800000000")
    headers = dict(_headers(error=refused, reason="not_authorized"))
    assert (b"not_authorized", b"status_not_by_issuer") == (
        headers["hx_dlq_reason"],
        headers["hx_dlq_rule"],
    )
