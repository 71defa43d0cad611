"""The outbound side of ``hxbus bridge run``: the outbox watcher in a thread of its own.

The inbound bridge is the consumer runtime on the main thread; the outbound side is an
``OutboxPublisher`` scanning ``<root>/outbox/`` on a second thread, with its own
``Publisher`` (its own producer: a slow or unavailable broker for one direction does not
hold up the other's batches). Both stop together: the runner stops this thread when the
runtime returns (SIGTERM, SIGINT, idle), after the scan in hand finished, so a file is
either moved after its acknowledgement or left in the outbox for the next run.

Messages are signed with the key of their ``ce_source`` agency: the outbox only accepts
events of the province's own agencies, so the province's keys are all it needs.

Before the first scan the thread learns where the province's earlier alerts went (need
to know, ``schemas.audiences``): its agencies' own copies in their inboxes, which the
bridge's login reads, and their broadcast alerts in the alert register. A status change
of an alert known to neither is refused (its file goes to ``rejected/``), never guessed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from bridge.outbox import FileOutcome, OutboxPublisher
from bridge.profiles.base import Profile
from bridge.unexpected import unexpected_error
from consumers.alert_register import learn_audiences
from producers import Publisher
from runtime import Settings, agreement_signer, agreement_verifier
from runtime.signing import AgencySigners, Signer
from schemas import Agreement
from schemas.audiences import AudienceBook
from schemas.errors import ConfigError, HxError

log = structlog.get_logger("hxbus.outbox")

#: Seconds between two outbox scans (a file is taken once it stood still for one interval).
DEFAULT_SCAN_INTERVAL_S = 0.5
#: Seconds ``stop`` waits for a thread still learning the audiences: that read has no
#: scan in hand to finish, and on a broker with a long history it can take a minute.
LEARNING_STOP_WAIT_S = 1.0


def province_signer(settings: Settings, agreement: Agreement, province: str) -> Signer | None:
    """Signs with the key of each message's source, for the agencies of ``province``.

    None in development (no keys anywhere). An agency without a key here is left out:
    the agreement may hold keys for agencies whose outbox this host does not serve; a
    message of such an agency is refused by the Publisher (``SecurityError``) and its file
    goes to ``rejected/`` with the reason.
    """
    signers: dict[str, Signer] = {}
    for agency in agreement.agencies_of(province):
        try:
            signer = agreement_signer(settings, agreement, agency.id)
        except ConfigError as exc:
            log.warning("outbox_agency_cannot_sign", agency=agency.id, error=str(exc))
            continue
        if signer is not None:
            signers[agency.id] = signer
    if not signers:
        return None
    return AgencySigners(signers)


class OutboundThread:
    """Runs an ``OutboxPublisher`` for one province's root until ``stop``."""

    def __init__(
        self,
        settings: Settings,
        agreement: Agreement,
        province: str,
        profile: Profile,
        root: Path,
        *,
        interval_s: float = DEFAULT_SCAN_INTERVAL_S,
        learn_audiences: bool = False,
    ) -> None:
        self._interval_s = interval_s
        #: Read where the province's earlier alerts went before the first scan (the
        #: runner asks for it; a test of the scanning alone does not need a broker).
        self._learn = learn_audiences
        self._settings = settings
        self._agreement = agreement
        self._agencies = [a.id for a in agreement.agencies_of(province)]
        self._stop = threading.Event()
        self._learning = threading.Event()
        signer = province_signer(settings, agreement, province)
        self._publisher = Publisher(settings, agreement, signer=signer)
        self.outbox = OutboxPublisher(root, profile, self._publisher, agreement, province=province)
        #: Outbox files finished (sent, partly rejected, rejected), for idle checks.
        self.finished = 0
        #: The exception that ended the thread, if one did.
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bridge-outbound", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def waiting(self) -> int:
        """How many candidate files the outbox holds now (not yet finished)."""
        try:
            return len(self.outbox.waiting())
        except OSError:
            return 0

    def stop(self, timeout_s: float = 60.0) -> None:
        """Finish the scan in hand, stop, close the Publisher (flushes and waits for acks).

        A thread still learning the audiences has sent nothing yet: it is not waited for
        (it is a daemon, and checks the stop before its first scan), so a bridge told to
        stop during that read stops at once instead of after it."""
        self._stop.set()
        if self._thread.is_alive():
            learning = self._learning.is_set()
            self._thread.join(timeout=LEARNING_STOP_WAIT_S if learning else timeout_s)
        self._publisher.close()

    def _run(self) -> None:
        log.info("outbox_starting", outbox=str(self.outbox.outbox))
        try:
            if self._learn:
                self._learning.set()
                try:
                    self._learn_audiences(self._publisher.audiences)
                finally:
                    self._learning.clear()
            while not self._stop.is_set():
                try:
                    for report in self.outbox.scan():
                        if report.outcome is not FileOutcome.RETRY:
                            self.finished += 1
                except Exception as exc:  # a bug in one pass: counted, the next pass runs
                    unexpected_error(self.outbox.profile.name, "scan", exc, "outbox scan")
                self._stop.wait(self._interval_s)
        except BaseException as exc:  # logged and kept: the runner reports it on stop
            self.failure = exc
            log.exception("outbox_failed", error=str(exc))
        log.info("outbox_stopped", finished=self.finished)

    def _learn_audiences(self, book: AudienceBook) -> None:
        """Where the province's earlier alerts went (module docstring)."""
        verifier = agreement_verifier(self._agreement, role="bridge")
        try:
            learn_audiences(book, self._settings, self._agencies, verifier=verifier)
        except HxError as exc:  # unknown alerts' status changes are refused, never guessed
            log.warning("outbox_audiences_unread", error=str(exc))
