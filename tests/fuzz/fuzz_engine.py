"""The fuzzing engine: deterministic mutations, one oracle, a count of what happened.

A target (``fuzz_targets``) gives valid seed inputs, a way to mutate them (byte-level
mutations from here, plus its own structure-aware ones) and ``check(data)``, the oracle:

- it returns (or raises an ``HxError``) ``"refused"`` when the input was refused with the
  project's own error, or ``"accepted"`` when it was accepted *and* held every promise (it
  validates, encodes, can be delivered to every province, round-trips);
- it raises ``Wrong`` when an accepted input broke a promise (accepted-but-wrong);
- anything else it raises is a crash (an exception that is not the project's own).

An input that takes more than ``HANG_CPU_S`` of CPU time is a hang. CPU time, not wall
time: the suite runs on loaded machines, and another process's work is not ours.

Everything is seeded (``random.Random(f"{target}:{seed}")``): a run with the same seed and
budget tries the same inputs, so a CI failure can be reproduced with ``scripts/fuzz``.
"""

from __future__ import annotations

import hashlib
import random
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

from schemas.errors import HxError

#: CPU seconds one input may take before it counts as a hang.
HANG_CPU_S = 1.0
#: Wall seconds after which one input is interrupted (and counted as a hang).
ABORT_WALL_S = 10.0

#: Values that break parsers and rules: boundaries, markup, encodings, paths.
INTERESTING_TEXT: tuple[str, ...] = (
    "",
    " ",
    "\u0000",
    "\u0008",
    "\u001b[2J",
    "\r\n",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\u202e",
    "𠮷䶮",
    "../../x",
    "0001-01-01T00:00:00+08:00",
    "9999-12-31T23:59:59+08:00",
    "1899-12-31T23:59:59Z",
    "00010101000000",
    "99991231235959",
    "-1",
    "2147483648",
    "9223372036854775808",
    "1" * 4301,
    "1e400",
    "NaN",
    "<!---->",
    "<?pi x?>",
    "]]>",
    "&amp;",
    "00000000-0000-0000-0000-000000000000",
    "A" * 300,
)


class Wrong(Exception):
    """The oracle's verdict: the input was accepted but breaks a promise (says which)."""


class Target(Protocol):
    """What the engine fuzzes."""

    name: str

    def seeds(self) -> Sequence[bytes]: ...

    def mutate(self, rng: random.Random, seeds: Sequence[bytes]) -> bytes: ...

    def check(self, data: bytes) -> str: ...


@dataclass(frozen=True, slots=True)
class Finding:
    """One input the oracle did not accept: a crash, a hang or accepted-but-wrong."""

    target: str
    kind: str  # "crash", "hang", "wrong"
    detail: str
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


@dataclass(slots=True)
class Stats:
    """What one run of one target did."""

    target: str
    inputs: int = 0
    refused: int = 0
    accepted: int = 0
    findings: list[Finding] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)


class _Interrupted(BaseException):
    """Raised by the wall-clock alarm inside an input that runs away."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted


def check_one(target: Target, data: bytes) -> tuple[str, Finding | None]:
    """Run the oracle on one input: (outcome, the finding if it is one)."""
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, ABORT_WALL_S)
    started = time.process_time()
    try:
        outcome = target.check(data)
    except _Interrupted:
        return "hang", Finding(target.name, "hang", f"ran over {ABORT_WALL_S:g} s", data)
    except Wrong as wrong:
        return "wrong", Finding(target.name, "wrong", str(wrong), data)
    except HxError:  # refused with the project's own error: the right answer to bad input
        return "refused", None
    except Exception as exc:  # the point of fuzzing: anything not ours is a crash
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        return "crash", Finding(target.name, "crash", detail, data)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    spent = time.process_time() - started
    if spent > HANG_CPU_S:
        return "hang", Finding(target.name, "hang", f"took {spent:.2f} s of CPU", data)
    return outcome, None


def run(
    target: Target,
    *,
    inputs: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    on_finding: Callable[[Finding], None] | None = None,
) -> Stats:
    """Fuzz ``target`` for ``inputs`` inputs or ``seconds`` seconds, whichever ends first."""
    if inputs is None and seconds is None:
        raise ValueError("give a budget: inputs, seconds or both")
    rng = random.Random(f"{target.name}:{seed}")
    if hasattr(target, "run_seed"):  # targets that draw from hypothesis, seeded by the run
        target.run_seed = seed
    seeds = list(target.seeds())
    stats = Stats(target.name)
    deadline = None if seconds is None else time.monotonic() + seconds
    for data in _inputs(target, rng, seeds):
        if inputs is not None and stats.inputs >= inputs:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        outcome, finding = check_one(target, data)
        stats.inputs += 1
        if outcome == "refused":
            stats.refused += 1
        elif outcome == "accepted":
            stats.accepted += 1
        if finding is not None:
            stats.findings.append(finding)
            if on_finding is not None:
                on_finding(finding)
    return stats


def _inputs(target: Target, rng: random.Random, seeds: list[bytes]) -> Iterator[bytes]:
    yield from seeds  # every valid sample once, as it is: it must be accepted
    while True:
        yield target.mutate(rng, seeds)


# -- byte-level mutations ----------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    """One to four random byte-level edits of ``data`` (AFL's classic havoc, small)."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        buffer = _MUTATORS[rng.randrange(len(_MUTATORS))](rng, buffer, seeds)
    return bytes(buffer)


def _flip_bit(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    if data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return data


def _set_byte(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    if data:
        data[rng.randrange(len(data))] = rng.choice(
            (0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x0D, 0x1A, 0x20, 0x22, 0x3C, 0x26, rng.randrange(256))
        )
    return data


def _insert_text(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    text = rng.choice(INTERESTING_TEXT).encode("utf-8", "surrogatepass")
    at = rng.randint(0, len(data))
    data[at:at] = text
    return data


def _delete(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    if data:
        start = rng.randrange(len(data))
        del data[start : start + rng.randint(1, 16)]
    return data


def _duplicate(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    if data:
        start = rng.randrange(len(data))
        piece = data[start : start + rng.randint(1, 32)]
        at = rng.randint(0, len(data))
        data[at:at] = piece
    return data


def _truncate(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    return data[: rng.randint(0, len(data))]


def _splice(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    other = rng.choice(seeds)
    if not data or not other:
        return data
    cut = rng.randrange(len(data))
    return data[:cut] + bytearray(other[rng.randrange(len(other)) :])


def _digits(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    """Replace a run of digits by a boundary number (years 0001/9999, 2**31, 4,301 digits)."""
    runs = [i for i in range(len(data)) if 0x30 <= data[i] <= 0x39]
    if not runs:
        return data
    start = end = rng.choice(runs)
    while end < len(data) and 0x30 <= data[end] <= 0x39:
        end += 1
    choice = rng.choice(("0001", "9999", "0000", "2147483648", "1" * 4301, "00", "99"))
    if rng.random() < 0.5:  # keep the width (fixed-width formats)
        choice = choice[: end - start].rjust(end - start, "0")
    data[start:end] = choice.encode()
    return data


_MUTATORS = (_flip_bit, _set_byte, _insert_text, _delete, _duplicate, _truncate, _splice, _digits)


def save(finding: Finding, folder: Path) -> Path:
    """Write a finding's input under ``folder/<target>/<kind>-<digest>.bin`` and its detail."""
    where = folder / finding.target
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{finding.kind}-{finding.digest}.bin"
    path.write_bytes(finding.data)
    path.with_suffix(".txt").write_text(finding.detail + "\n", encoding="utf-8")
    return path
