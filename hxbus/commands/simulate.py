"""``hxbus simulate --rate R --duration S [--seed N] [--start TIME] [--dry-run]``.

Synthetic traffic among the agencies of the agreement (``producers.SyntheticTraffic``):
alerts, revisions, withdrawals, hits, confirmations, assistance requests and responses,
related to each other as a real exchange's are. ``R × S`` events, offered at ``R`` per
second (token bucket on a monotonic clock) through the Publisher; at the end, the
events stored and refused per type and the rate achieved, as measured.

Logged in as an agency (``HX_SASL_USERNAME`` an agency id, as ``hxbus credentials
--agency A`` sets it), only that agency's events are sent, signed with its own key: a
login writes what its agency may say and nothing else.

``--dry-run`` prints the same events as NDJSON (the JSON form) without a broker and
without pacing; with the same ``--seed`` and ``--start`` the output is the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import IO, Any

from hxbus.commands.metrics_option import add_metrics_arguments, serving_metrics
from hxbus.exit_codes import ExitCode
from producers import Publisher, RateMeter, SyntheticTraffic, TokenBucket, paced
from runtime import Settings, agreement_signer, agreement_signers
from schemas import Agreement, ExchangeEvent, load_agreement, render_event, utc_now_ms
from schemas.timestamps import format_time

#: Topics simulated traffic goes to (not the DLQs or the audit log).
BUS_TOPICS = ("hx.alerts.", "hx.inbox.")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="publish realistic synthetic traffic at a steady rate (or print it: --dry-run)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rate", type=_positive, required=True, help="events per second")
    parser.add_argument("--duration", type=_positive, required=True, help="seconds")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same events (0)")
    parser.add_argument(
        "--start",
        type=_time,
        default=None,
        metavar="TIME",
        help="RFC 3339 time of the first event (default: now)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print NDJSON, send nothing")
    parser.add_argument(
        "--delivery-timeout", type=_positive, default=120.0, metavar="SECONDS", help="(120)"
    )
    add_metrics_arguments(parser)
    parser.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    if args.dry_run:
        _print_ndjson(_traffic(args, agreement, args.start or utc_now_ms()), sys.stdout)
        return 0
    meter = RateMeter()
    stored: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    copies = 0
    timeout_ms = int(args.delivery_timeout * 1000)
    agency = own_agency(settings, agreement)
    if agency is not None:
        # An agency's login writes only what the agency may say, signed with its own key.
        print(f"logged in as agency {agency}: simulating its own events only", file=sys.stderr)
        signer = agreement_signer(settings, agreement, agency)
    else:
        signer = agreement_signers(settings, agreement)  # None: no keys (development)
    with (
        serving_metrics(args, settings) as ready,
        Publisher(settings, agreement, signer=signer, delivery_timeout_ms=timeout_ms) as publisher,
    ):
        publisher.warm_up(t for t in agreement.topic_names() if t.startswith(BUS_TOPICS))
        ready.set()
        # Stamped from now, not from the command's start: connecting and warming up take
        # up to a second, which would otherwise show as end-to-end latency downstream.
        start: datetime = args.start or utc_now_ms()
        events = _traffic(args, agreement, start, only=agency)
        # The clock starts now; a stall of up to 0.1 s is caught up, not lost.
        bucket = TokenBucket(args.rate, burst=max(1.0, args.rate / 10))
        for outcome in publisher.publish_many(paced(events, bucket, meter)):
            copies += len(outcome.receipts)
            if outcome.ok:
                stored[outcome.event.event_type] += 1
            else:
                refused[outcome.event.event_type] += 1
                print(
                    f"not sent {outcome.event.envelope.message_id}: {outcome.error}",
                    file=sys.stderr,
                )
    _summary(sys.stdout, stored, refused, copies, meter, args.rate, start)
    return ExitCode.INVALID if refused else ExitCode.OK


def own_agency(settings: Settings, agreement: Agreement) -> str | None:
    """The agency whose login this is (``HX_SASL_USERNAME`` an agency id), else None."""
    user = settings.sasl_username
    return user if user is not None and user in agreement.by_id else None


def _traffic(
    args: argparse.Namespace, agreement: Agreement, start: datetime, only: str | None = None
) -> Iterator[ExchangeEvent]:
    """The run's events: ``rate × duration`` of the seeded mix, ``created_at`` from ``start``;
    with ``only``, of that agency's events (those whose source it is)."""
    traffic: Iterator[ExchangeEvent] = iter(
        SyntheticTraffic(
            agreement, seed=args.seed, start=start, spacing=timedelta(seconds=1 / args.rate)
        )
    )
    if only is not None:
        traffic = (event for event in traffic if event.envelope.source == only)
    return islice(traffic, round(args.rate * args.duration))


def _print_ndjson(events: Any, out: IO[str]) -> None:
    for event in events:
        out.write(json.dumps(render_event(event), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")


def _summary(
    out: IO[str],
    stored: Counter[str],
    refused: Counter[str],
    copies: int,
    meter: RateMeter,
    rate: float,
    start: datetime,
) -> None:
    for event_type in sorted(stored.keys() | refused.keys()):
        out.write(
            f"{event_type:<20} stored {stored[event_type]:>7}  refused {refused[event_type]:>5}\n"
        )
    out.write(f"{'total':<20} stored {sum(stored.values()):>7}  refused {sum(refused.values()):>5}")
    out.write(f"  ({copies} messages with fan-out)\n")
    out.write(
        f"rate: requested {rate:g}/s, achieved {meter.rate:.1f}/s over {meter.elapsed:.2f} s "
        f"(events from {format_time(start)})\n"
    )


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _time(text: str) -> datetime:
    """An RFC 3339 time with its offset, as UTC milliseconds (what the events carry)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone offset, such as +08:00 or Z")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
