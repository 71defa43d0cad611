"""The alert register as the authority gate's source of alerts (``consumers.AuthorityGate``).

``RegisterFacts`` answers from a register the role holds itself (the register role);
``RegisterLookup`` loads the register on a background thread when the gate misses an alert
(the bridge and the tracker): ``load_register`` reads a topic to its end, seconds, never on
the consumer's thread, which must keep polling. The second miss of an alert (its first
retry) starts a load; a later retry finds the alert once the load is in. Not the first
miss: then the alert is nearly always on an alert topic the receiver has not read that
far yet, and a load (every alert, decoded, on the consumer's GIL) cost a bridge under
load most of its time (docs/benchmarks.md, bridge hot path).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from consumers.alert_register.state import AlertRegister
from schemas.authority_facts import AlertFacts, HitFacts, RequestFacts
from schemas.errors import HxError

log = structlog.get_logger("hxbus.authority")

#: At most this many alert ids remembered as missed once (``RegisterLookup.alert``).
MISSED_KEPT = 10_000
#: A register load is not started again sooner than this after the last one (seconds).
REGISTER_REFRESH_S = 10.0


def register_facts(register: AlertRegister, alert_id: str) -> AlertFacts | None:
    """An alert's facts as the register holds them (a revision seen); handling unknown."""
    state = register.get(alert_id)
    if state is None or state.revision < 1:
        return None
    return AlertFacts(state.issuing_agency, state.kind, state.revision)


class RegisterFacts:
    """The alerts of an ``AlertRegister`` as facts (the register role's own state)."""

    #: Always complete: what it does not know, it will not learn by waiting.
    settled = True

    def __init__(self, register: AlertRegister) -> None:
        self._register = register

    def alert(self, alert_id: str) -> AlertFacts | None:
        return register_facts(self._register, alert_id)

    def hit(self, hit_id: str) -> HitFacts | None:
        return None

    def request(self, request_id: str) -> RequestFacts | None:
        return None


class RegisterLookup:
    """Alerts from the alert register, loaded on a background thread when one is missed.

    ``load`` is a ``RegisterLoader`` in a role (each load after the first reads only what
    came since); its failure (the broker away, an ACL) is logged and the alert stays
    unknown, to be asked again later. One load at a time: the next starts only once the
    last is over, and the register it replaces is dropped when the new one is in.
    """

    def __init__(
        self,
        load: Callable[[], AlertRegister],
        refresh_s: float = REGISTER_REFRESH_S,
        *,
        behind: Callable[[], bool] = lambda: False,
    ) -> None:
        self._load = load
        #: True while the receiver has not read its partitions to their ends (then a
        #: missing alert is most likely in what it has still to read: no load yet).
        self._behind = behind
        #: Alerts missed once (a load starts at the second miss: ``alert``).
        self._missed: set[str] = set()
        self._refresh_s = refresh_s
        self._register: AlertRegister | None = None
        self._loading = threading.Lock()
        self._last_start = -float("inf")
        #: True once a load has completed: it began after this receiver started reading,
        #: so it holds every alert published before the receiver's first offsets.
        self.settled = False

    def alert(self, alert_id: str) -> AlertFacts | None:
        register = self._register
        found = register_facts(register, alert_id) if register is not None else None
        if found is None:
            # The first miss of an alert starts no load: the alert usually sits on an
            # alert topic this receiver has not read that far yet, and is there when the
            # message is retried. A second miss of the same alert (its retry) does, once
            # the receiver has read its partitions to their ends (``behind``).
            if alert_id in self._missed:
                self._refresh()
            elif len(self._missed) < MISSED_KEPT:
                self._missed.add(alert_id)
        return found

    def _refresh(self) -> None:
        """Start a load, unless one ran lately or runs now, or the receiver is behind.
        ``behind`` is asked last, only when a load could start: it asks the consumer
        for every partition's position (the runtime answers once per batch:
        ``Failures.reading_behind``), and a stream of repeated misses asked it each."""
        now = time.monotonic()
        if now - self._last_start < self._refresh_s or self._loading.locked():
            return
        if self._behind() or not self._loading.acquire(blocking=False):
            return
        self._last_start = now
        threading.Thread(target=self._run, name="register-lookup", daemon=True).start()

    def _run(self) -> None:
        try:
            self._missed = set()
            self._register = self._load()
            self.settled = True
        except HxError as exc:
            log.warning("register_lookup_failed", reason=exc.reason, error=str(exc))
        except Exception as exc:  # a lookup never stops the consumer
            log.warning("register_lookup_failed", reason="unexpected_error", error=str(exc))
        finally:
            self._loading.release()

    def wait(self, timeout_s: float = 60.0) -> None:
        """Block until a load in progress is over (tests)."""
        if self._loading.acquire(timeout=timeout_s):
            self._loading.release()
