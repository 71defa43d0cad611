"""Assembling and running one province's inbound bridge (``hxbus bridge run``).

One consumer group per province (``hx.bridge.<province>``, e.g. ``hx.bridge.js``), on
the broadcast topics and the inboxes of the province's agencies, through the consumer
runtime (decode, verify, dedupe, expiry, retry, DLQ ``hx.dlq.<group>``, commit). The
dedupe store and the held-alerts store live under the state directory, one file each per
group.

``max_idle`` stops the run once the worker has held its partitions and nothing has been
finished for that many seconds (tests, demos, one-shot catch-up). It is judged from the
runtime's assignment, not from start-up: the group join takes its own time, and a
timer started before it could stop a bridge that never read a thing (``runtime.idle``,
the rule every role's idle stop follows).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from bridge.audit_writer import AuditWriter
from bridge.held_alerts import HeldAlerts, held_alerts_path
from bridge.inbound import InboundBridge
from bridge.outbound import OutboundThread
from bridge.profiles import get_profile
from bridge.refusals import AuditedDeadLetters
from bridge.sinks import DirectorySink, HttpSink, KafkaSink, Sink
from consumers import (
    AuthorityGate,
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    Polling,
    RetryPolicy,
    RunStats,
    Settlement,
    SqliteFacts,
    Subscription,
    authority_path,
    store_path,
)
from consumers.alert_register import RegisterLoader, RegisterLookup
from runtime import Settings, Verifier, bridge_signer, open_admin
from runtime.closing import close_all
from runtime.idle import IdleClock, IdleWatch
from runtime.kafka import ConsumerOptions, NewTopic
from schemas import BROADCAST_TOPICS, Agreement, Codec, bridge_principal, inbox_topic
from schemas.errors import ConfigError

log = structlog.get_logger("hxbus.bridge")

#: A bridge process that died hands its partitions to the group's other workers after this
#: long without a heartbeat (the client's default is 45 s, all that time undelivered).
#: Heartbeats come from the client's own thread, so a long batch does not count.
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 3_000


def local_topic(province: str) -> str:
    """The kafka sink's default local topic: ``hx.local.<province key, lowercase>``."""
    return f"hx.local.{province.lower()}"


def ensure_local_topic(settings: Settings, topic: str, partitions: int = 3) -> None:
    """Create the kafka sink's local topic if it does not exist (the local system's topic
    is not in the agreement, so provisioning does not make it)."""
    admin = open_admin(settings)
    try:
        if topic not in admin.list_topics():
            admin.create_topics([NewTopic(topic, partitions, 1)])  # one made meanwhile is fine
            log.info("local_topic_created", topic=topic, partitions=partitions)
    finally:
        admin.close()


def default_group(province: str) -> str:
    """The consumer group of a province's bridge: ``hx.bridge.<province key, lowercase>``."""
    return f"hx.bridge.{province.lower()}"


def bridge_topics(agreement: Agreement, province: str) -> list[str]:
    """The broadcast topics and the inboxes of the province's agencies."""
    inboxes = [inbox_topic(a.id) for a in agreement.agencies_of(province)]
    return [*BROADCAST_TOPICS.values(), *inboxes]


@dataclass(frozen=True, slots=True)
class SinkChoice:
    """What ``--sink``/``--url``/``--root`` asked for."""

    kind: str
    root: Path | None = None
    url: str | None = None
    #: The kafka sink's local topic (default ``local_topic(province)``).
    topic: str | None = None
    #: The http sink's read timeout in seconds (default the sink's own).
    http_timeout: float | None = None

    def build(
        self,
        settings: Settings | None = None,
        group: str = "",
        province: str = "",
        agreement: Agreement | None = None,
        worker: int = 1,
    ) -> Sink:
        """The sink; the kafka sink needs ``settings`` and the group (its transactional id
        is ``<group>-<worker - 1>``: one per worker of the group, stable across restarts,
        so a restarted worker fences its dead predecessor and no other worker). The
        directory sink takes its file and folder modes from the province's entry in
        ``agreement`` (0640 / 0750 without one)."""
        if self.kind == "directory":
            if self.root is None:
                raise ConfigError("--root: the directory sink needs the local root")
            if agreement is not None and province in agreement.provinces:
                spec = agreement.provinces[province]
                return DirectorySink(
                    self.root, file_mode=spec.inbox_file_mode, dir_mode=spec.inbox_dir_mode
                )
            return DirectorySink(self.root)
        if self.kind == "http":
            if not self.url:
                raise ConfigError("--url: the http sink needs the local system's URL")
            if self.http_timeout is not None:
                return HttpSink(self.url, read_timeout=self.http_timeout)
            return HttpSink(self.url)
        if self.kind == "kafka":
            if settings is None or not group:
                raise ConfigError("--sink kafka: the Kafka sink needs the settings and group")
            topic = self.topic or local_topic(province)
            ensure_local_topic(settings, topic)
            return KafkaSink(settings, topic, f"{group}-{worker - 1}")
        raise ConfigError(f"--sink: {self.kind!r} is not one of directory, http, kafka")


def run_inbound(
    settings: Settings,
    agreement: Agreement,
    province: str,
    sink_choice: SinkChoice,
    *,
    group: str | None = None,
    verifier: Verifier | None = None,
    max_idle: float | None = None,
    on_runtime: Callable[[ConsumerRuntime], None] | None = None,
    outbound_root: Path | None = None,
    retry: RetryPolicy | None = None,
    worker: int = 1,
) -> RunStats:
    """Run the inbound bridge of ``province`` until SIGTERM/SIGINT (or ``max_idle``).

    ``on_runtime`` is called with the runtime before it starts (the command line starts
    the metrics endpoint there, whose readiness is the runtime's assignment).
    ``outbound_root``: also publish what local systems drop in ``<outbound_root>/outbox``
    (``OutboundThread``), stopped with the inbound side; ``max_idle`` then also waits
    for the outbox to be empty. ``retry``: the runtime's retry policy (tests shorten it).
    ``worker``: this process's number among the group's workers (``bridge.workers``).

    Authority (design.md): the runtime judges every message before the bridge sees it,
    with the facts of every alert, hit and request this group accepted on any topic,
    delivered or filtered (``SqliteFacts``, beside the held alerts, committed in the
    same flush), and the alert register for an alert the group has not seen.
    """
    key = agreement.province_key(province)
    group = group or default_group(key)
    profile = get_profile(agreement.provinces[key].profile, agreement)
    outbound = None
    if outbound_root is not None:
        outbound = OutboundThread(
            settings, agreement, key, profile, outbound_root, learn_audiences=True
        )
    topics = bridge_topics(agreement, key)
    sink = sink_choice.build(settings, group, key, agreement, worker)
    held = HeldAlerts(held_alerts_path(settings.state_dir, group))
    dedupe = DedupeStore(store_path(settings.state_dir, group))
    facts = SqliteFacts(authority_path(settings.state_dir, group))
    # No register load while the bridge reads a backlog: the alert is most likely in it.
    # Each load after the first reads only what the alert topics gained since (issue 17).
    lookup = RegisterLookup(
        RegisterLoader(settings, verifier=verifier),
        behind=lambda: runtime.reading_behind(),
    )
    authority = AuthorityGate(facts, lookup)
    # The Kafka sink owns the commit: the audit records travel in its transaction, and the
    # runtime hands it the offsets instead of committing them itself.
    committer = sink if isinstance(sink, KafkaSink) else None
    audit_signer = bridge_signer(settings, agreement, key)  # ConfigError: key listed, not here
    if audit_signer is None:
        log.warning(
            "audit_unsigned",
            province=key,
            detail="no signing key of this bridge: its audit records show as UNVERIFIED "
            f"(hxbus keys generate --province {key}); development only",
        )
    audit = AuditWriter(
        settings, producer=committer, signer=audit_signer, source=bridge_principal(key)
    )
    dlq = DeadLetterQueue(
        settings,
        group,
        replication=agreement.exchange.replication,
        min_insync_replicas=agreement.exchange.min_insync_replicas,
    )
    bridge = InboundBridge(key, agreement, profile, sink, audit, held)
    runtime = ConsumerRuntime(
        settings,
        Subscription(group, topics, role="bridge"),
        bridge,
        Checks(Codec(), dedupe, verifier=verifier, authority=authority),
        Settlement(
            AuditedDeadLetters(dlq, bridge),
            offset_committer=committer,
            on_expired=bridge.on_expired,
        ),
        Polling(
            retry=retry or RetryPolicy(),
            consumer_options=ConsumerOptions(
                session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS
            ),
        ),
    )
    log.info(
        "bridge_starting",
        province=key,
        group=group,
        worker=worker,
        profile=profile.name,
        profile_version=profile.version,
        sink=sink.kind,
        topics=topics,
        verifier=type(verifier).__name__ if verifier else None,
    )
    watch = None
    if max_idle is not None:
        # A message waiting to be retried (its alert not known yet, a sink down) is work
        # still to do: not idle.
        # Duplicates skipped by the dedupe store reach no handler: counted by the runtime.
        out = outbound
        watch = IdleWatch(
            max_idle,
            runtime.stop,
            reading=lambda: bool(runtime.assignment),
            progress=lambda: bridge.seen + runtime.stats.finished + (out.finished if out else 0),
            busy=lambda: runtime.retrying or (out is not None and out.waiting() > 0),
            role="bridge",
        )
    try:
        if on_runtime is not None:
            on_runtime(runtime)
        if outbound is not None:
            outbound.start()
        if watch is not None:
            watch.start()
        stats = runtime.run_forever()
    finally:
        if watch is not None:
            watch.close()
        try:
            if outbound is not None:
                _stop_outbound(outbound)
        finally:
            _close_all(sink, audit, dlq, held, dedupe, facts)
    log.info(
        "bridge_stopped",
        province=key,
        group=group,
        handled=stats.handled,
        duplicate=stats.duplicate,
        expired=stats.expired,
        dead_lettered=stats.dead_lettered,
        retried=stats.retried,
    )
    return stats


def _close_all(
    sink: Sink,
    audit: AuditWriter,
    dlq: DeadLetterQueue,
    held: HeldAlerts,
    dedupe: DedupeStore,
    facts: SqliteFacts,
) -> None:
    """Close everything, each even when another failed (``runtime.closing``)."""
    parts = {
        "sink": sink.close,
        "audit": audit.close,
        "dlq": dlq.close,
        "held_alerts": held.close,
        "dedupe": dedupe.close,
        "authority_facts": facts.close,
    }
    close_all(parts, log, "bridge_close_failed")


def run_outbound(
    settings: Settings,
    agreement: Agreement,
    province: str,
    root: Path,
    *,
    max_idle: float | None = None,
) -> int:
    """Run only the outbound side (``--outbound-only``) until SIGTERM/SIGINT, or until the
    outbox stayed empty with no file finished for ``max_idle`` seconds. Returns the number
    of outbox files finished."""
    key = agreement.province_key(province)
    profile = get_profile(agreement.provinces[key].profile, agreement)
    outbound = OutboundThread(settings, agreement, key, profile, root, learn_audiences=True)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("outbox_stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info("bridge_starting", province=key, profile=profile.name, direction="outbound")
    try:
        outbound.start()
        idle = IdleClock(max_idle)
        while not stop.wait(0.2):
            if outbound.failure is not None:
                break
            finished = outbound.finished
            if idle.expired(reading=True, progress=finished, busy=outbound.waiting() > 0):
                log.info("idle_stop", role="bridge-outbox", idle_s=max_idle, seen=finished)
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_outbound(outbound)
    log.info("bridge_stopped", province=key, direction="outbound", files=outbound.finished)
    return outbound.finished


def _stop_outbound(outbound: OutboundThread) -> None:
    """Stop the outbox thread; a failure that ended it is raised (the run exits non-zero)."""
    outbound.stop()
    if outbound.failure is not None:
        raise outbound.failure
