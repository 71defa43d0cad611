"""``hxbus alerts`` lists every alert's current state; ``hxbus alert-register run`` keeps it.

``hxbus alerts [--as AGENCY] [--live] [--agency A] [--id-number N | --plate P] [--json]``
reads the register from the broker (its compacted topic plus what the register consumer
has not written yet, see ``consumers.alert_register``) and prints one line per alert:

    ALERT_ID  KIND  CATEGORY  AGENCY  STATUS  REV  VALID_UNTIL  RELATED

What a duty officer needs to act on an alert (which one, whose, in force or not, until
when, which revision to revise, whether another bureau has one on the same subject) and
no personal data: no names, no identity numbers, no plates. To ask "is there an alert on
this person or this vehicle?", give the number with ``--id-number`` or ``--plate``: it is
turned into the same pseudonymous subject key the register stores and never printed.
``--json`` prints one JSON object per alert (NDJSON) with the subject key and the
position of the latest revision on the alert topic, for scripts and re-delivery.

The register holds broadcast alerts only: a need-to-know alert (NEED_TO_KNOW,
ORIGINATOR_CONTROL) travels only as directed copies into the inboxes of its issuer and of
its ``share_with`` agencies (design.md, Need to know). ``--as AGENCY`` (by default the
broker login, when it is an agency id) adds those the agency issued or was shared with,
read from the copies in its own inbox, which its login may read and no other agency's
may; without it, and for any other agency, they are not shown.

``hxbus alert-register run [--group G] [--until-idle S] [--metrics-port N]`` runs the
register consumer: it follows the alert topics (group ``HX_ALERT_REGISTER_GROUP``) and
writes each alert's new state to ``HX_ALERT_REGISTER_TOPIC`` before it commits.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import IO, Any

from consumers.alert_register import AlertState, load_register, read_shared_copies, run_register
from consumers.reading import utc_now
from hxbus.commands.metrics_option import serving_metrics
from hxbus.commands.role_options import add_role_arguments
from runtime import Settings, agreement_verifier, receiver_verifier
from schemas import Agreement, load_agreement
from schemas.errors import ConfigError
from schemas.rules.identity import normalise_id_number
from schemas.rules.plate import normalise_plate_number
from schemas.subjects import subject_key

COLUMNS = ("ALERT_ID", "KIND", "CATEGORY", "AGENCY", "STATUS", "REV", "VALID_UNTIL", "RELATED")


def register(subparsers: Any) -> None:
    listing = subparsers.add_parser(
        "alerts",
        help="every alert's current state (revision, status, expiry); no personal data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument(
        "--as",
        dest="as_agency",
        metavar="AGENCY",
        help="also the need-to-know alerts this agency issued or was shared with, from its "
        "own inbox (default: the broker login, when it is an agency id)",
    )
    listing.add_argument("--live", action="store_true", help="only alerts in force now")
    listing.add_argument("--agency", metavar="A", help="only alerts issued by this agency id")
    subject = listing.add_mutually_exclusive_group()
    subject.add_argument("--id-number", metavar="N", help="only alerts on this person")
    subject.add_argument("--plate", metavar="P", help="only alerts on this vehicle")
    listing.add_argument("--json", action="store_true", help="one JSON object per alert")
    listing.set_defaults(handler=_list)

    keeper = subparsers.add_parser(
        "alert-register",
        help="the alert register: follow the alert topics, keep the compacted register topic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = keeper.add_subparsers(dest="register_action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="run the alert register until SIGTERM/SIGINT (or --until-idle)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_role_arguments(
        run, group=None, group_help="consumer group (default: HX_ALERT_REGISTER_GROUP)"
    )
    run.set_defaults(handler=_keep)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    agency = agreement.agency(args.agency).id if args.agency else None  # ConfigError: exit 2
    key = _subject_key(args)
    reader = _reader(args, settings, agreement)
    verifier = agreement_verifier(agreement, role="alerts")
    register, _ = load_register(settings, verifier=verifier)
    if reader is not None:  # its own need-to-know alerts: never in the register
        for copy in read_shared_copies(settings, reader, verifier=verifier):
            register.apply(copy.event_type, copy.record)
    states = register.states(live=args.live, agency=agency, subject_key=key)
    if args.json:
        for state in states:
            sys.stdout.write(json.dumps(_as_json(state), ensure_ascii=False) + "\n")
    else:
        _table(states, agreement, utc_now(), sys.stdout)
    return 0


def _reader(args: argparse.Namespace, settings: Settings, agreement: Agreement) -> str | None:
    """The agency whose need-to-know alerts are shown: ``--as``, else the broker login
    when it is an agency id; ConfigError (exit 2) for an unknown ``--as``."""
    if args.as_agency:
        return agreement.agency(args.as_agency).id
    login = settings.sasl_username
    return login if login in agreement.by_id else None


def _subject_key(args: argparse.Namespace) -> str | None:
    """The pseudonymous key of ``--id-number`` / ``--plate``; ConfigError when malformed."""
    try:
        if args.id_number:
            return subject_key("person", normalise_id_number(args.id_number))
        if args.plate:
            return subject_key("vehicle", normalise_plate_number(args.plate))
    except ValueError as exc:
        option = "--id-number" if args.id_number else "--plate"
        raise ConfigError(f"{option}: {exc}") from None
    return None


def _table(states: list[AlertState], agreement: Agreement, now: datetime, out: IO[str]) -> None:
    rows = [COLUMNS]
    for state in states:
        agency = agreement.by_id.get(state.issuing_agency)
        rows.append(
            (
                state.alert_id,
                state.kind,
                state.category or "-",
                f"{state.issuing_agency} {agency.city}" if agency else state.issuing_agency,
                state.shown_status(now),
                str(state.revision),
                f"{state.valid_until:%Y-%m-%dT%H:%MZ}" if state.valid_until else "-",
                str(len(state.related_alerts)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")
    out.write(f"{len(states)} alerts\n")


def _as_json(state: AlertState) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(state.to_json())
    data.pop("v", None)
    data["shown_status"] = state.shown_status(utc_now())
    return data


def _keep(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    if args.group:
        settings = settings.model_copy(update={"alert_register_group": args.group})
    with serving_metrics(args, settings) as ready:
        stats = run_register(
            settings,
            agreement,
            verifier=receiver_verifier(settings, agreement, role="alert-register"),
            idle_timeout=args.until_idle,
            on_ready=ready.set,
        )
    print(
        f"alert register: {stats.handled} handled, {stats.expired} expired, "
        f"{stats.duplicate} duplicate, {stats.dead_lettered} dead-lettered",
        file=sys.stderr,
    )
    return 0
