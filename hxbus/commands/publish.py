"""``hxbus publish --as AGENCY [--target AGENCY] FILE...``: put JSON events on the bus.

Each FILE holds one JSON event or NDJSON (one event a line); ``-`` reads standard input.
Files are streamed: a 10,000-line file is never held in memory, and sends are pipelined.
One line per event on standard output, in input order:

    ok <message_id> <topic>/<partition>@<offset>      once per copy the broker stored
    <file>:<line>: <path>: <rule>                     once per broken rule
    <file>:<line>: not sent (<reason>): <message>     the broker did not take it

"ok" is printed only after the broker acknowledged the copy (acks=all). An event whose
``source`` is not the ``--as`` agency is refused: a desk publishes its own events only.
``--target`` addresses directed events (hits, confirmations, responses) that carry no
``hxtarget``.

Authority (design.md): an event its source may not send is refused before sending, in
the words every receiver uses when it refuses one (``schemas.authority``, e.g.
``data.agency: status_not_by_issuer: alert … was issued by …``): the author rules, and,
from the alert register, the issuer and kind of the alert a revision, status change or
hit names. Receivers check all of it again; this only tells the desk first.

The duplicate check before entry: a new alert (revision 1) on a person (identity number)
or vehicle (plate) that the agency already has a live alert on is refused, naming that
alert (revise it instead); one on a subject another agency has a live alert on is sent
with ``related_alerts`` naming it. The live alerts are read at start from the alert
register (``hxbus alerts``) and kept current with what this command sends.

Need to know: an alert whose handling is not SHARE_ALL_PARTNERS goes as one copy into
the inbox of its issuer and of each agency in ``share_with``, never to the broadcast
topics; so do its revisions and status changes. Where an earlier alert went is read at
start from the agency's own copies in its own inbox (restricted alerts) and from the
alert register (broadcast ones). A revision that narrows ``share_with`` also sends each
dropped agency a withdrawal; one that changes handling between broadcast and restricted
is refused (withdraw the alert and issue a new one). The duplicate check of a new
need-to-know alert asks the operator's lookup service (``hxbus lookup-service run``): an
alert of this agency on the subject refuses it; another agency's gives a notice line

    <file>:<line>: notice: <path>: a live alert on this subject exists at <agency>: ...

Exit status: 0 when every event was stored, 1 when any was refused or not sent, 2 when
a file cannot be read as UTF-8 JSON at all.
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from consumers.alert_register import AlertRegister, RegisterFacts, learn_audiences, load_register
from hxbus.commands.metrics_option import add_metrics_arguments, serving_metrics
from hxbus.exit_codes import ExitCode, exit_code
from producers import DIRECTED_TYPES, LazyLookup, Publisher, PublishOutcome
from runtime import Settings, agreement_signer, agreement_verifier
from schemas import Agreement, ExchangeEvent, load_agreement, read_events
from schemas.audiences import AudienceBook
from schemas.authority import Said, judge
from schemas.authority_facts import Facts, NoFacts
from schemas.errors import (
    AuthorityRefused,
    AuthorityUnknown,
    HxError,
    Issue,
    UnreadableInput,
    ValidationFailed,
)

EXIT_OK, EXIT_UNREADABLE = ExitCode.OK, ExitCode.UNREADABLE
#: Which refusal's status the command ends with when its events were refused for
#: different reasons.
_PRECEDENCE = (
    ExitCode.NOT_AUTHORISED,
    ExitCode.UNAVAILABLE,
    ExitCode.UNREADABLE,
    ExitCode.INVALID,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="validate JSON events and publish them; ok only once the broker has them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--as", dest="as_agency", required=True, metavar="AGENCY", help="the publishing agency id"
    )
    parser.add_argument(
        "--target", metavar="AGENCY", help="addressee of directed events without hxtarget"
    )
    parser.add_argument(
        "--delivery-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="give up on an event the broker has not acknowledged after this long (120)",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON or NDJSON file, - for stdin")
    add_metrics_arguments(parser)
    parser.set_defaults(handler=_publish)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One input event's place: file and line, and its error if it never reached the publisher."""

    label: str
    line: int
    error: HxError | None = None


class _Feed:
    """Streams the files' events to the publisher; remembers where each came from.

    Events refused before publishing (unparseable, wrong source) and events handed to the
    publisher are queued in input order, so that the report interleaves them correctly.
    """

    def __init__(
        self,
        files: list[str],
        agreement: Agreement,
        as_agency: str,
        target: str | None,
        facts: Facts | None = None,
    ) -> None:
        self.files = files
        self.agreement = agreement
        self.as_agency = as_agency
        self.target = target
        self.facts: Facts = facts or NoFacts()
        self.entries: deque[_Entry] = deque()
        self.unreadable = False

    def events(self) -> Iterator[ExchangeEvent]:
        for name in self.files:
            source: str | IO[bytes] = sys.stdin.buffer if name == "-" else name
            label = "<stdin>" if name == "-" else name
            try:
                for line, parsed in read_events(source, self.agreement):
                    event = self._admit(label, line, parsed)
                    if event is not None:
                        yield event
            except UnreadableInput as exc:
                print(f"hxbus publish: {exc}", file=sys.stderr)
                self.unreadable = True

    def _admit(
        self, label: str, line: int, parsed: ExchangeEvent | ValidationFailed
    ) -> ExchangeEvent | None:
        if isinstance(parsed, ValidationFailed):
            self.entries.append(_Entry(label, line, parsed))
            return None
        envelope = parsed.envelope
        if envelope.source != self.as_agency:
            rule = f"is {envelope.source}, but publishing as {self.as_agency}"
            self.entries.append(_Entry(label, line, ValidationFailed([Issue("source", rule)])))
            return None
        if self.target and envelope.target is None and envelope.event_type in DIRECTED_TYPES:
            parsed = ExchangeEvent(envelope.evolve(target=self.target), parsed.record)
        refusal = authority_refusal(parsed, self.facts)
        if refusal is not None:
            self.entries.append(_Entry(label, line, refusal))
            return None
        self.entries.append(_Entry(label, line))
        return parsed


def authority_refusal(event: ExchangeEvent, facts: Facts) -> ValidationFailed | None:
    """The receivers' authority rules, applied before sending: the refusal as an issue
    on the record field it concerns, None when the event passes (or its rules need facts
    only a receiver has: the hit a confirmation answers, the request a response answers)."""
    envelope = event.envelope
    said = Said(envelope.event_type, event.record, envelope.source, envelope.target)
    try:
        judge(said, facts)
    except AuthorityUnknown:
        return None
    except AuthorityRefused as refused:
        path = refused.field if refused.field == "hxtarget" else f"data.{refused.field}"
        return ValidationFailed([Issue(path, str(refused))])
    return None


class _Report:
    """Prints outcomes and refusals in input order; keeps the exit status."""

    def __init__(self, feed: _Feed, out: IO[str]) -> None:
        self.feed = feed
        self.out = out
        self.ok = 0
        self.refused = 0
        #: The exit status each refusal asks for (``exit_code`` of its error).
        self.statuses: set[ExitCode] = set()

    def outcome(self, outcome: PublishOutcome) -> None:
        entry = self._refusals_then_next()
        for receipt in outcome.receipts:
            self.out.write(f"ok {receipt.message_id} {receipt}\n")
        for notice in outcome.notices:
            where = f"{entry.label}:{entry.line}" if entry else "?"
            self.out.write(f"{where}: notice: {notice}\n")
        if outcome.error is None:
            self.ok += 1
        else:
            self._refusal(entry, outcome.error)

    def finish(self) -> int:
        while self.feed.entries:
            self._refusals_then_next()
        if self.feed.unreadable:
            return EXIT_UNREADABLE
        # A refusal by the broker (login or ACL withdrawn, broker gone mid-run) says more
        # to a script than a bad event does: "ask for access" / "try again later" first.
        for status in _PRECEDENCE:
            if status in self.statuses:
                return status
        return EXIT_OK

    def _refusals_then_next(self) -> _Entry | None:
        """Print the refusals queued before the next published event; return that event's entry."""
        entries = self.feed.entries
        while entries:
            entry = entries.popleft()
            if entry.error is None:
                return entry
            self._refusal(entry, entry.error)
        return None

    def _refusal(self, entry: _Entry | None, error: HxError) -> None:
        self.refused += 1
        self.statuses.add(exit_code(error))
        where = f"{entry.label}:{entry.line}" if entry else "?"
        if isinstance(error, ValidationFailed):
            for issue in error.issues:
                self.out.write(f"{where}: {issue}\n")
        else:
            self.out.write(f"{where}: not sent ({error.reason}): {error}\n")


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    as_agency = agreement.agency(args.as_agency).id  # ConfigError (exit 2) when unknown
    if args.target:
        agreement.agency(args.target)
    timeout_ms = int(args.delivery_timeout * 1000)
    signer = agreement_signer(settings, agreement, as_agency)  # None: no keys (development)
    # The duplicate check before entry: the live alerts as the broker holds them now.
    verifier = agreement_verifier(agreement, role="publish")  # the register's tail, as read
    live_alerts, _ = load_register(settings, verifier=verifier)
    feed = _Feed(args.files, agreement, as_agency, args.target, RegisterFacts(live_alerts))
    report = _Report(feed, sys.stdout)
    audiences = known_audiences(settings, agreement, as_agency, live_alerts)
    lookup = LazyLookup(settings, as_agency, signer=signer)
    with (
        serving_metrics(args, settings) as ready,
        Publisher(
            settings,
            agreement,
            signer=signer,
            delivery_timeout_ms=timeout_ms,
            live_alerts=live_alerts,
            audiences=audiences,
            lookup=lookup,
        ) as publisher,
        _progress() as progress,
    ):
        ready.set()  # the Publisher connected its producer when it was built
        task = progress.add_task("publishing", total=None) if progress else None
        for outcome in publisher.publish_many(feed.events()):
            report.outcome(outcome)
            if progress is not None and task is not None:
                progress.update(
                    task, advance=1, description=f"ok {report.ok}, refused {report.refused}"
                )
    lookup.close()
    return report.finish()


def known_audiences(
    settings: Settings, agreement: Agreement, agency: str, register: AlertRegister
) -> AudienceBook:
    """Where the agency's earlier alerts went: its broadcast alerts from the register, its
    need-to-know alerts from its own copies in its own inbox (verified when keys exist)."""
    verifier = agreement_verifier(agreement, role="publish")
    return learn_audiences(AudienceBook(), settings, [agency], verifier=verifier, register=register)


def _progress() -> AbstractContextManager[Progress | None]:
    """A progress display on standard error, only when a person watches it."""
    if not sys.stderr.isatty():
        return nullcontext()
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} events"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
