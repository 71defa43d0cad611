"""The drill's duty desk: seeded traffic through the real Publisher, every ack in the ledger.

Run as its own process (``python -m hxbus.drill.publisher LEDGER --rate R``) so that the
drill can kill -9 it in the middle of a batch. The traffic is ``SyntheticTraffic`` with
the seed, start and spacing the ledger's ``meta`` holds, so event number ``seq`` is the
same event, message ids included, in every run of this process.

For each event: the intent is written (fsynced) before it is handed to the producer; when
every copy is acknowledged, the copies, where they were stored and who must receive them
(``Rulebook``) are written. On start, the events intended but never acknowledged — those
in flight when the previous process died — are sent again first, as a duty desk sends
again what it has no receipt for. Their message ids are the same, so receivers that got
the first attempt drop the second. An event the broker did not take (a delivery timeout)
is sent again too; an event the Publisher refused for a reason that sending again cannot
cure (``retriable`` false: a validation or routing refusal) is written to the ledger as
refused, never retried, and fails the drill. SIGTERM: stop taking new events, settle those
in flight, exit 0.

Before the first event the desk learns where the alerts it issued before a restart went
(``consumers.learn_audiences``, as a bridge's outbox does): the traffic it skips on a
restart never passes through its Publisher, and a status change of a need-to-know alert
the Publisher does not know is refused (its recipients are unknown).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from consumers.alert_register import learn_audiences
from hxbus.drill.ledger import Copy, Ledger
from hxbus.drill.rulebook import Rulebook, business_key, copy_type
from producers import Publisher, SyntheticTraffic, TokenBucket
from producers.publisher import Receipt
from runtime import Settings, agreement_verifier, configure_logging
from runtime.signers import agreement_signers
from schemas import Agreement, ExchangeEvent, load_agreement
from schemas.errors import HxError

log = structlog.get_logger("hxbus.drill.publisher")

#: Events in flight at once: a duty desk's batch, small enough to settle fast on SIGTERM.
WINDOW = 200


class DutyDesk:
    """Publishes the ledger's traffic from where the previous run stopped."""

    def __init__(self, settings: Settings, agreement: Agreement, ledger: Ledger, rate: float):
        self._settings = settings
        self._agreement = agreement
        self._ledger = ledger
        self._rate = rate
        self._stopping = False
        meta = ledger.meta()
        self._traffic = SyntheticTraffic(
            agreement,
            seed=int(meta["seed"]),
            start=datetime.fromisoformat(meta["start"]),
            spacing=timedelta(milliseconds=int(meta["spacing_ms"])),
        )
        self._rulebook = Rulebook(agreement, ledger.holders())
        #: Events the broker did not take, to send again before the next new one.
        self._retry: deque[tuple[int, ExchangeEvent]] = deque()
        self.resent_after_restart = 0

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        acked = self._ledger.acknowledged()
        intended = self._ledger.intended()
        unacked = intended - acked - set(self._ledger.refused())  # refused: for good
        last = max(intended, default=-1)
        log.info("drill_publisher_starting", acknowledged=len(acked), to_resend=len(unacked))
        order: deque[tuple[int, bool]] = deque()
        signer = agreement_signers(self._settings, self._agreement)
        with Publisher(self._settings, self._agreement, signer=signer, window=WINDOW) as pub:
            if acked:  # a restart: what the previous runs issued is on the bus, not in ``pub``
                self._learn_audiences(pub)
            for outcome in pub.publish_many(self._events(unacked, last, order)):
                seq, resent = order.popleft()
                if outcome.error is not None:
                    self._not_taken(seq, outcome.event, outcome.error)
                    continue
                self._acknowledge(seq, outcome.event, outcome.receipts, resent=resent)
            self._send_the_rest(pub)
        log.info("drill_publisher_stopped", resent=self.resent_after_restart)

    def _learn_audiences(self, pub: Publisher) -> None:
        """Where the alerts issued before this run went (module docstring)."""
        agencies = [a.id for a in self._agreement.agencies]
        verifier = agreement_verifier(self._agreement, role="drill")
        try:
            learn_audiences(pub.audiences, self._settings, agencies, verifier=verifier)
        except HxError as exc:  # its alerts' status changes will be refused, and reported
            log.warning("drill_audiences_unread", error=str(exc))
        log.info("drill_audiences_learned", alerts=len(pub.audiences))

    def _not_taken(self, seq: int, event: ExchangeEvent, error: HxError) -> None:
        """Sent again later when the broker may take it then; refused for good otherwise."""
        if error.retriable:
            log.warning("drill_publish_retry", seq=seq, reason=error.reason)
            self._retry.append((seq, event))
            return
        log.error(
            "drill_publish_refused", seq=seq, event_type=event.event_type, reason=error.reason
        )
        self._ledger.refuse(seq, error.reason, time.time())

    def _acknowledge(
        self, seq: int, event: ExchangeEvent, receipts: tuple[Receipt, ...], *, resent: bool
    ) -> None:
        """Write the event's copies and what is due where (the rulebook) to the ledger."""
        dues = self._rulebook.due(event, receipts)
        copies = []
        for r in receipts:
            mine = [d for d in dues if r.message_id in d.message_ids]
            copies.append(
                Copy(
                    r.message_id, copy_type(event, r), r.topic, r.partition, r.offset,
                    business_key(event, r), _alert_id(event),
                    {d.province: d.agencies for d in mine},
                    mine[0].key if mine else "",
                )
            )  # fmt: skip
        self._ledger.acknowledge(seq, time.time(), copies, resent=resent)

    def _send_the_rest(self, pub: Publisher) -> None:
        """On the way out: what the broker did not take is sent again until it is (a desk
        does not go home with unconfirmed messages), or until SIGKILL."""
        while self._retry:
            seq, event = self._retry.popleft()
            self._ledger.intend(seq, event.event_type, time.time())
            outcome = next(pub.publish_many([event]))
            if outcome.error is not None and not outcome.error.retriable:
                self._not_taken(seq, event, outcome.error)
                continue
            if not outcome.ok:
                self._retry.appendleft((seq, event))
                time.sleep(1.0)
                continue
            self._acknowledge(seq, event, outcome.receipts, resent=True)

    def _events(
        self, unacked: set[int], last: int, order: deque[tuple[int, bool]]
    ) -> Iterator[ExchangeEvent]:
        bucket = TokenBucket(self._rate, burst=max(1.0, self._rate / 5))
        for seq, event in enumerate(self._traffic):
            while self._retry and not self._stopping:
                again_seq, again = self._retry.popleft()
                self._ledger.intend(again_seq, again.event_type, time.time())
                order.append((again_seq, True))
                yield again
            if self._stopping:
                return
            if seq <= last:
                if seq in unacked:  # in flight when the previous run died: send again
                    self.resent_after_restart += 1
                    self._ledger.intend(seq, event.event_type, time.time())
                    order.append((seq, True))
                    yield event
                continue
            bucket.take()
            self._ledger.intend(seq, event.event_type, time.time())
            order.append((seq, False))
            yield event


def _alert_id(event: ExchangeEvent) -> str | None:
    value = event.record.get("alert_id")
    return value if isinstance(value, str) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hxbus.drill.publisher")
    parser.add_argument("ledger", type=Path)
    parser.add_argument("--rate", type=float, required=True)
    args = parser.parse_args(argv)
    settings = Settings()
    agreement = load_agreement(settings.agreement)
    configure_logging(settings.log_level, personal_keys=agreement.personal_data_keys)
    ledger = Ledger(args.ledger)
    desk = DutyDesk(settings, agreement, ledger, args.rate)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: desk.stop())
    try:
        desk.run()
    finally:
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
