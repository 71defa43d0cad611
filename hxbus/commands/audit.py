"""``hxbus audit --alert ID [--json]``: who received this alert, when, and did the
withdrawal reach them.

Reads ``hx.audit`` (the partition of the alert's key) and prints, per receiving agency,
the deliveries of the alert's revisions and of its status changes (withdrawn, resolved,
expired) with their times, outcomes, sinks and profile versions; then the records that
name no agency (refusals at a province: expired, rejected, dead-lettered) and hits. The
last column says whether a status change reached the agency: the withdrawal receipt.

Every record is verified against the key the agreement lists for the bridge of the
province the record names (a bridge signs what it writes): the VERIFIED column says
``yes`` or ``UNVERIFIED``, a closing line counts the unverified ones, and ``--json`` gives
``verified`` and ``unverified_reason`` per record. ``--verified-only`` leaves unverified
records out of the trail, so the issuer and the withdrawal receipt rest on verified
records alone: what an auditor draws conclusions from. On a secured broker only the
auditor reads the audit: ``eval "$(hxbus credentials --user auditor)"``.

Exit status: 0 when the alert has audit records, 1 when it has none.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from bridge.audit_reader import AlertTrail, alert_trail, read_alert_records, trail_json
from hxbus.exit_codes import ExitCode
from runtime import Settings
from schemas import AUDIT_TOPIC, load_agreement
from schemas.errors import ConfigError

EXIT_FOUND, EXIT_NONE = ExitCode.OK, ExitCode.INVALID


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="the audit trail of an alert: who received it, when, did the withdrawal reach them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--alert", required=True, metavar="ID", help="the alert id (a uuid)")
    parser.add_argument(
        "--json", action="store_true", help="the trail as one JSON object on one line (NDJSON)"
    )
    parser.add_argument("--topic", default=AUDIT_TOPIC, help=f"audit topic (default {AUDIT_TOPIC})")
    parser.add_argument(
        "--verified-only",
        action="store_true",
        help="leave out records that do not verify against their bridge's key",
    )
    parser.add_argument(
        "--all-partitions",
        action="store_true",
        help="read every partition, not only the alert key's (after a partition increase)",
    )
    parser.set_defaults(handler=_audit)


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    try:
        alert_id = str(uuid.UUID(args.alert))
    except ValueError:
        raise ConfigError(
            f"--alert: {args.alert!r} is not a uuid (rule: alert ids are uuids)"
        ) from None
    records = read_alert_records(
        settings,
        alert_id,
        agreement=load_agreement(settings.agreement),
        topic=args.topic,
        all_partitions=args.all_partitions,
    )
    unverified = sum(1 for r in records if not r["verified"])
    if args.verified_only:
        records = [r for r in records if r["verified"]]
    trail = alert_trail(alert_id, records)
    if args.json:
        data = trail_json(trail)
        data["unverified"] = unverified
        data["verified_only"] = args.verified_only
        print(json.dumps(data, ensure_ascii=False))  # one line: NDJSON, as every --json
    else:
        _print_text(trail)
        if unverified:
            left = "left out" if args.verified_only else "marked UNVERIFIED above"
            print(
                f"{unverified} record(s) UNVERIFIED ({left}): not signed by the bridge of "
                "the province they name; do not take them as fact"
            )
        elif records:
            print(f"all {len(records)} records verified (signed by their province's bridge)")
    if not records:
        print(f"hxbus audit: no audit record of alert {alert_id} on {args.topic}", file=sys.stderr)
        return EXIT_NONE
    return EXIT_FOUND


def _print_text(trail: AlertTrail) -> None:
    data = trail_json(trail)
    print(f"alert {trail.alert_id}  issued by {trail.issuer or 'unknown'}")
    print(
        f"{'AGENCY':<14}{'PROV':<6}{'EVENT':<19}{'OUTCOME':<15}{'DELIVERED AT':<29}"
        f"{'VERIFIED':<12}MESSAGE"
    )
    for agency in data["agencies"]:
        for row in (*agency["alert"], *agency["status_changes"]):
            print(_row(agency["agency"], row))
        reached = "yes" if agency["withdrawal_reached"] else "NO"
        print(f"{'':<14}{'':<6}status change reached {agency['agency']}: {reached}")
    if data["other"]:
        print("not addressed to one agency (refusals at a province, hits):")
        for row in data["other"]:
            print(_row(row["recipient_agency"] or "-", row))


def _row(agency: str, row: dict[str, Any]) -> str:
    when = row["delivered_at"] or row["recorded_at"] or "-"
    verified = "yes" if row["verified"] else "UNVERIFIED"
    return (
        f"{agency:<14}{row['province'] or '-':<6}{row['event_type']:<19}{row['outcome']:<15}"
        f"{when:<29}{verified:<12}{row['message_id']}"
    )
