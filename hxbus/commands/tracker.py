"""``hxbus tracker run``: the request tracker as a long-running role.

Reads every inbox of the agreement (``--inbox A`` to name some), and the alert topics (to
judge hits and confirmations against their alert: design.md, Authority), as consumer group
``hx.tracker`` (``--group``), keeps who owes whom an answer in the state directory, and
sends one second notice to the inbox of an agency that let a deadline pass. Serves
``/metrics`` (``hx_requests_overdue``, ``hx_requests_second_notices_total``) and
``/healthz`` with ``--metrics-port``. Stops on SIGTERM or SIGINT after the batch in hand
(or with ``--until-idle S`` once nothing came for S seconds), and prints what the run did
as one JSON line (messages handled, deadline sweeps, second notices sent).
``hxbus requests`` lists what it tracks.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from consumers import (
    AuthorityGate,
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    Settlement,
    SqliteFacts,
    Subscription,
    authority_path,
)
from consumers.alert_register import RegisterLoader, RegisterLookup
from consumers.tracker import (
    DEFAULT_GROUP,
    DEFAULT_INTERVAL_S,
    DeadlineWatcher,
    RequestTracker,
    TrackerStore,
    inbox_topics,
)
from hxbus.commands.metrics_option import serving_metrics
from hxbus.commands.role_options import add_role_arguments, positive_seconds
from producers import Publisher
from runtime import Settings, agreement_signers, receiver_verifier
from schemas import BROADCAST_TOPICS, Codec, ExchangeEvent, load_agreement

ROLE = "tracker"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tracker",
        help="the request tracker: deadlines of requests and hit confirmations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="tracker_action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="run the tracker until SIGTERM/SIGINT")
    add_tracker_arguments(run)
    run.set_defaults(handler=_run)


def add_tracker_arguments(parser: argparse.ArgumentParser) -> None:
    add_role_arguments(parser, group=DEFAULT_GROUP, group_help=f"consumer group ({DEFAULT_GROUP})")
    parser.add_argument(
        "--inbox",
        action="append",
        metavar="AGENCY",
        help="read this agency's inbox (repeatable; default: every agency of the agreement)",
    )
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=DEFAULT_INTERVAL_S,
        metavar="SECONDS",
        help=f"how often deadlines are checked ({DEFAULT_INTERVAL_S:g})",
    )


class PublisherSender:
    """Sends second notices through the Publisher (validated, routed, signed, acks=all)."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    def send(self, event: ExchangeEvent) -> None:
        self._publisher.publish(event)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    # The alert topics too: the tracker keeps no alert, but judges each hit and
    # confirmation against its alert's issuer and sharing (design.md, Authority), and an
    # alert read here is known at once, where the register lags.
    topics = [*inbox_topics(agreement, args.inbox), *BROADCAST_TOPICS.values()]
    with serving_metrics(args, settings) as ready:
        store = TrackerStore.for_group(settings.state_dir, args.group)
        watcher_store = TrackerStore.for_group(settings.state_dir, args.group)
        dedupe = DedupeStore.for_group(settings.state_dir, args.group)
        dlq = DeadLetterQueue(
            settings,
            args.group,
            replication=agreement.exchange.replication,
            min_insync_replicas=agreement.exchange.min_insync_replicas,
        )
        publisher = Publisher(settings, agreement, signer=agreement_signers(settings, agreement))
        tracker = RequestTracker(store, agreement)
        # Who may say what: the facts of the alerts, hits and requests this group accepted,
        # and the alert register for an alert it has not read.
        facts = SqliteFacts(authority_path(settings.state_dir, args.group))
        verifier = receiver_verifier(settings, agreement, role=ROLE)
        lookup = RegisterLookup(RegisterLoader(settings, verifier=verifier))
        authority = AuthorityGate(facts, lookup)
        runtime = ConsumerRuntime(
            settings,
            Subscription(args.group, topics, role=ROLE),
            tracker,
            Checks(Codec(), dedupe, verifier=verifier, authority=authority),
            Settlement(dlq),
        )
        watcher = DeadlineWatcher(
            watcher_store,
            PublisherSender(publisher),
            agreement,
            interval_s=args.interval,
            ready=runtime.backlog.read,
        )
        ready.set()
        watcher.start()
        try:
            stats = runtime.run_forever(idle_timeout=args.until_idle)
        finally:
            watcher.stop()
            publisher.close()
            dlq.close()
            dedupe.close()
            facts.close()
            watcher_store.close()
            store.close()
    counts = {
        "handled": stats.handled,
        "dead_lettered": stats.dead_lettered,
        "sweeps": watcher.ready_sweeps,
        "second_notices_sent": watcher.sent,
    }
    print(json.dumps(counts), flush=True)  # what this run did, for the operator's record
    return 0
