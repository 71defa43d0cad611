"""The ten fuzzing targets and their oracle (see ``fuzz_engine`` for the verdicts).

- ``outbound-<province>`` (4): a local file through the province profile's ``from_local``
  and the edge's ``validate_event``. Seeds: every golden local file of every event type
  (and the ICD samples), and for Henan a batch of them all. Mutations: byte-level, plus
  structure-aware ones (a JSON leaf replaced, an XML leaf's text replaced or split by a
  comment, PI or CDATA, a fixed-width field overwritten at its own width).
- ``inbound-<province>`` (4): random valid events (the hypothesis strategies of
  ``tests/unit/hx_event_strategies.py``, seeded) rendered by ``to_local``.
- ``json-form``: the exchange's JSON form through ``read_events``. Seeds: the fixture
  events and the golden exchange events; mutations on the bytes and on JSON leaves.
- ``avro-decode``: ``Codec.decode`` of mutated encodings of the fixture events.

The promises an accepted event keeps (else ``Wrong``): it encodes with the codec; every
province's profile can write it (``to_local`` raises no ``TranslationError``: what the
edge accepts is deliverable everywhere); and ``from_local(to_local(event))`` gives back
every field the ICD carries (fields listed as dropped or truncated excepted; times to the
second where the ICD writes seconds; coordinates to 1e-5 degree where the ICD converts
datum). A decoded Avro record must encode again.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fuzz_engine import INTERESTING_TEXT, Wrong, mutate_bytes
from hx_event_strategies import events
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from lxml import etree

from bridge.profiles import PROFILES, Profile
from bridge.profiles.base import LocalMessage
from bridge.profiles.henan_layouts import SPECS
from schemas import (
    EVENT_TYPES,
    Codec,
    ExchangeEvent,
    load_agreement,
    parse_event,
    read_events,
    render_event,
    validate_event,
)
from schemas.errors import HxError, TranslationError, ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "unit" / "golden" / "bridge"
FIXTURES = ROOT / "tests" / "fixtures" / "events"
#: Every built-in profile (the names the agreement's provinces may give).
PROVINCES = tuple(PROFILES)
EXTENSIONS = {name: profile.extension for name, profile in PROFILES.items()}
#: Formats that write times to the second (Anhui writes epoch milliseconds).
SECOND_FORMATS = frozenset({"jiangsu", "shandong", "henan"})
#: Degrees a coordinate may move through a datum conversion and back (GCJ-02, BD-09).
COORDINATE_TOLERANCE = 1e-5

AGREEMENT = load_agreement()
CODEC = Codec()
PROFILE_OBJECTS: dict[str, Profile] = {name: PROFILES[name](AGREEMENT) for name in PROVINCES}

_HUGE = "\u2063huge\u2063"  # stands for a 4,301-digit number in a JSON leaf (dumps cannot)


# -- the promises ------------------------------------------------------------------------


def keep_promises(event: ExchangeEvent, home: str | None) -> None:
    """Wrong unless the accepted ``event`` encodes, is deliverable everywhere, round-trips."""
    try:
        CODEC.encode(event.event_type, event.record)
    except HxError as exc:
        raise Wrong(f"accepted but does not encode: {exc}") from None
    messages: dict[str, LocalMessage] = {}
    for name, profile in PROFILE_OBJECTS.items():
        try:
            messages[name] = profile.to_local(event)
        except TranslationError as exc:
            raise Wrong(f"accepted but {name} cannot carry it: {exc}") from None
    if home is not None:
        round_trip(event, home, messages[home])


def round_trip(event: ExchangeEvent, home: str, message: LocalMessage) -> None:
    """Wrong unless ``from_local(to_local(event))`` keeps every field the ICD carries."""
    units = list(PROFILE_OBJECTS[home].from_local(message.content, "round-trip"))
    if len(units) != 1 or units[0].event is None:
        errors = "; ".join(str(u.error) for u in units if u.error is not None)
        raise Wrong(f"{home} cannot read back what it wrote: {errors}")
    back = units[0].event
    skipped = (*message.dropped, *message.truncated)
    try:
        again = validate_event(back.envelope, back.record, AGREEMENT)
    except ValidationFailed as exc:
        # A rule may need a field this ICD does not carry (share_with of a NEED_TO_KNOW
        # alert, in Anhui): the read-back is then compared as read.
        paths = [issue.path.removeprefix("data.") for issue in exc.issues]
        if not all(_skipped(path, skipped) for path in paths):
            raise Wrong(f"{home} read back an event the edge refuses: {exc}") from None
        again = back
    differences = [
        path
        for path, value in _leaves(event.record, "")
        if not _skipped(path, skipped) and not _same(value, _at(again.record, path), home)
    ]
    before, after = event.envelope, again.envelope
    for name in ("event_type", "source", "message_id"):
        if getattr(before, name) != getattr(after, name):
            differences.append(f"envelope.{name}")
    if not _same(before.created_at, after.created_at, home):
        differences.append("envelope.created_at")
    if differences:
        raise Wrong(f"{home} round trip changed {', '.join(differences[:5])}")


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        if not value:
            yield path, []
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


_ABSENT = object()


def _at(record: Any, path: str) -> Any:
    current = record
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(current, list) or index >= len(current):
                return _ABSENT
            current = current[index]
        else:
            if not isinstance(current, Mapping) or part not in current:
                return _ABSENT
            current = current[part]
    return current


def _skipped(path: str, skipped: Sequence[str]) -> bool:
    return any(path == s or path.startswith((f"{s}.", f"{s}[")) for s in skipped)


def _same(before: Any, after: Any, home: str) -> bool:
    if isinstance(before, datetime) and isinstance(after, datetime):
        if home in SECOND_FORMATS:
            return before.replace(microsecond=0) == after.replace(microsecond=0)
        return before == after
    if isinstance(before, float) and isinstance(after, float | int):
        return math.isclose(before, after, rel_tol=0, abs_tol=COORDINATE_TOLERANCE)
    if home == "henan" and isinstance(before, str) and isinstance(after, str):
        # Fixed-width text is padded with spaces: trailing spaces are padding (icd/henan.md).
        return before.rstrip(" ") == after.rstrip(" ")
    if before is None and after is _ABSENT:
        return True
    if before == [] and after in ([], None, _ABSENT):
        return True
    return bool(before == after)


# -- outbound parsers ----------------------------------------------------------------------


class OutboundTarget:
    """A province's outbox format: ``from_local`` then the edge."""

    def __init__(self, province: str) -> None:
        self.province = province
        self.name = f"outbound-{province}"
        self.profile = PROFILE_OBJECTS[province]

    def seeds(self) -> Sequence[bytes]:
        folder = GOLDEN / self.province
        found = [p.read_bytes() for p in sorted(folder.iterdir()) if ".local" in p.name]
        found += [p.read_bytes() for p in sorted(folder.glob("*.icd-sample.*"))]
        if self.province == "henan":
            found.append(b"".join(found))  # a batch of every record type
        return found

    def mutate(self, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
        data = rng.choice(seeds)
        roll = rng.random()
        if roll < 0.55:
            if self.province == "shandong":
                data = mutate_xml(rng, data)
            elif self.province == "henan":
                data = mutate_fixed_width(rng, data)
            else:
                data = mutate_json(rng, data)
            if rng.random() < 0.2:
                data = mutate_bytes(rng, data, seeds)
            return data
        return mutate_bytes(rng, data, seeds)

    def check(self, data: bytes) -> str:
        accepted = False
        for unit in self.profile.from_local(data, "fuzz"):
            if unit.error is not None:
                if not isinstance(unit.error, HxError):
                    raise Wrong(f"a unit's error is a {type(unit.error).__name__}")
                continue
            assert unit.event is not None
            try:
                event = validate_event(unit.event.envelope, unit.event.record, AGREEMENT)
            except HxError:
                continue
            keep_promises(event, self.province)
            accepted = True
        return "accepted" if accepted else "refused"


# -- inbound renderings --------------------------------------------------------------------


class EventPool:
    """Valid events drawn by hypothesis, batch by batch, deterministically (seeded)."""

    BATCH = 100

    def __init__(self) -> None:
        self._batches: dict[tuple[int, int], list[bytes]] = {}

    def batch(self, number: int, run_seed: int = 0) -> list[bytes]:
        """Batch ``number`` of the run seeded ``run_seed`` (shared by the four targets)."""
        key = (run_seed, number)
        if key not in self._batches:
            drawn: list[bytes] = []
            strategy = st.sampled_from(EVENT_TYPES).flatmap(events)

            @settings(
                max_examples=self.BATCH,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @seed(run_seed * 1_000_003 + number)
            @given(strategy)
            def collect(event: ExchangeEvent) -> None:
                drawn.append(json_form(event))

            collect()
            self._batches[key] = drawn
        return self._batches[key]


POOL = EventPool()


def json_form(event: ExchangeEvent) -> bytes:
    return json.dumps(render_event(event), ensure_ascii=False).encode("utf-8")


class InboundTarget:
    """A province's rendering of random valid events: ``to_local``, then read back."""

    def __init__(self, province: str) -> None:
        self.province = province
        self.name = f"inbound-{province}"
        self._next = 1
        #: Set by the engine: the events of another run seed are other events.
        self.run_seed = 0

    def seeds(self) -> Sequence[bytes]:
        self._next = 1
        return POOL.batch(0, self.run_seed)

    def mutate(self, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
        batch = POOL.batch(self._next // EventPool.BATCH, self.run_seed)
        self._next += 1
        return batch[self._next % len(batch)]

    def check(self, data: bytes) -> str:
        event = parse_event(json.loads(data), AGREEMENT)  # a valid event: must parse
        profile = PROFILE_OBJECTS[self.province]
        try:
            message = profile.to_local(event)
        except TranslationError as exc:
            raise Wrong(f"a valid event {self.province} cannot carry: {exc}") from None
        round_trip(event, self.province, message)
        return "accepted"


# -- the JSON form --------------------------------------------------------------------------


class JsonFormTarget:
    """The exchange's JSON form, as ``hxbus validate`` and ``hxbus publish`` read it."""

    name = "json-form"

    def seeds(self) -> Sequence[bytes]:
        found = [p.read_bytes() for p in sorted(FIXTURES.glob("*.json"))]
        for province in PROVINCES:
            found += [p.read_bytes() for p in sorted((GOLDEN / province).glob("*.exchange.json"))]
        return found + POOL.batch(0)[:20]

    def mutate(self, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
        data = rng.choice(seeds)
        if rng.random() < 0.6:
            data = mutate_json(rng, data)
            if rng.random() < 0.2:
                data = mutate_bytes(rng, data, seeds)
            return data
        return mutate_bytes(rng, data, seeds)

    def check(self, data: bytes) -> str:
        accepted = False
        for _, outcome in read_events(_Stream(data), AGREEMENT):
            if isinstance(outcome, HxError):
                continue
            keep_promises(outcome, None)
            again = parse_event(json.loads(json_form(outcome)), AGREEMENT)
            if again != outcome:
                raise Wrong("the JSON form does not round-trip")
            accepted = True
        return "accepted" if accepted else "refused"


class _Stream:
    """Bytes as the binary stream ``read_events`` takes (iterates lines)."""

    name = "fuzz.json"

    def __init__(self, data: bytes) -> None:
        self._lines = data.splitlines(keepends=True)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._lines)


# -- the Avro decoder -----------------------------------------------------------------------


class AvroTarget:
    """``Codec.decode`` of bytes from the bus."""

    name = "avro-decode"

    def seeds(self) -> Sequence[bytes]:
        found = []
        for path in sorted(FIXTURES.glob("*.json")):
            event = parse_event(json.loads(path.read_bytes()), AGREEMENT)
            found.append(CODEC.encode(event.event_type, event.record))
        return found

    def mutate(self, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
        data = bytearray(rng.choice(seeds))
        if rng.random() < 0.3 and len(data) > 10:  # a varint of 64 bits or more
            at = rng.randrange(10, len(data))
            data[at:at] = b"\xff" * rng.randint(4, 10) + b"\x01"
            return bytes(data)
        body = mutate_bytes(rng, bytes(data[10:]), [s[10:] for s in seeds])
        return bytes(data[:10]) + body

    def check(self, data: bytes) -> str:
        event_type, record = CODEC.decode(data)
        try:
            CODEC.encode(event_type, record)
        except HxError as exc:
            raise Wrong(f"decoded a record that does not encode: {exc}") from None
        return "accepted"


# -- structure-aware mutations ----------------------------------------------------------------


def interesting_value(rng: random.Random) -> Any:
    return rng.choice(
        (
            rng.choice(INTERESTING_TEXT),
            rng.choice(INTERESTING_TEXT),
            2**31,
            -(2**31) - 1,
            2**63,
            -1,
            0,
            1e308,
            -0.0,
            True,
            None,
            [],
            {},
            [rng.choice(INTERESTING_TEXT)],
            _HUGE,
        )
    )


def mutate_json(rng: random.Random, data: bytes) -> bytes:
    """A leaf (or key) of a JSON document replaced by an interesting value."""
    try:
        document = json.loads(data)
    except ValueError:
        return data
    paths = list(_json_paths(document, ()))
    if not paths:
        return data
    path = rng.choice(paths)
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if isinstance(parent, dict) and rng.random() < 0.15:
        del parent[last]
    else:
        parent[last] = interesting_value(rng)
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5)
    text = text.replace(json.dumps(_HUGE, ensure_ascii=False), "1" * 4301)
    text = text.replace(json.dumps(_HUGE), "1" * 4301)
    return text.encode("utf-8", "surrogatepass")


def _json_paths(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from _json_paths(item, (*path, index))


def mutate_xml(rng: random.Random, data: bytes) -> bytes:
    """A leaf element's text replaced, split by a comment, PI or CDATA, or the leaf moved."""
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError:
        return data
    leaves = [e for e in root.iter() if isinstance(e.tag, str) and len(e) == 0]
    if not leaves:
        return data
    leaf = rng.choice(leaves)
    text = leaf.text or ""
    roll = rng.random()
    if roll < 0.35:
        cut = rng.randint(0, len(text))
        leaf.text = text[:cut]
        marker = etree.Comment("") if rng.random() < 0.5 else etree.ProcessingInstruction("pi")
        marker.tail = text[cut:]
        leaf.append(marker)
    elif roll < 0.5:
        cut = rng.randint(0, len(text))
        placeholder = "\u2063cdata\u2063"
        leaf.text = text[:cut] + placeholder
        out = etree.tostring(root, encoding="unicode")
        cdata = f"<![CDATA[{text[cut:]}]]>"
        return out.replace(placeholder, cdata).encode("utf-8")
    elif roll < 0.85:
        value = rng.choice(INTERESTING_TEXT)
        try:
            leaf.text = value
        except ValueError:  # lxml refuses to write what XML cannot hold: write it raw
            placeholder = "\u2063raw\u2063"
            leaf.text = placeholder
            out = etree.tostring(root, encoding="unicode")
            return out.replace(placeholder, value).encode("utf-8", "surrogatepass")
    elif roll < 0.93:
        parent = leaf.getparent()
        if parent is not None:
            parent.remove(leaf)
    else:
        parent = leaf.getparent()
        if parent is not None:
            parent.append(etree.fromstring(etree.tostring(leaf)))
    return bytes(etree.tostring(root, xml_declaration=rng.random() < 0.5, encoding="UTF-8"))


def _field_offsets(fields: Sequence[Any]) -> list[tuple[int, int, str]]:
    found, offset = [], 0
    for field in fields:
        found.append((offset, field.width, field.kind.value))
        offset += field.width
    return found


_HENAN_FIELDS = {
    spec.record_type.encode(): _field_offsets(spec.line_layout.fields) for spec in SPECS
}
_FIXED_VALUES = (
    "00010101000000",
    "99991231235959",
    "18991231235959",
    "20261120091500",
    "00000000-0000-0000-0000-000000000000",
    "../../x",
    "",
    "T",
    "X",
    "9",
    "+999.999999",
    "-91.000000",
    "王小明",
    "𠮷",
    "\x00",
    "\x08",
    "\x1a",
)


def mutate_fixed_width(rng: random.Random, data: bytes) -> bytes:
    """A field of a line overwritten at its own width; or lines dropped, doubled, swapped."""
    lines = data.split(b"\r\n")
    body = [line for line in lines if line]
    if not body:
        return data
    roll = rng.random()
    if roll < 0.8:
        index = rng.randrange(len(body))
        line = bytearray(body[index])
        fields = _HENAN_FIELDS.get(bytes(line[:4]))
        if fields:
            offset, width, _ = rng.choice(fields)
            value = rng.choice(_FIXED_VALUES).encode("gb18030")
            line[offset : offset + width] = value[:width].ljust(width, b" ")
            body[index] = bytes(line)
    elif roll < 0.9:
        body.insert(rng.randrange(len(body) + 1), rng.choice(body))
    else:
        rng.shuffle(body)
    return b"\r\n".join(body) + b"\r\n"


def all_targets() -> dict[str, Any]:
    """Every target by name, in the order the docs list them."""
    targets: list[Any] = [OutboundTarget(p) for p in PROVINCES]
    targets += [InboundTarget(p) for p in PROVINCES]
    targets += [AvroTarget(), JsonFormTarget()]
    return {t.name: t for t in targets}
