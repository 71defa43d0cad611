"""The regional demo: the whole Huaihai exchange on one machine, started and stopped here.

What a newcomer (or a duty officer in training) sees in one command:

1. a secured Kafka broker (SASL/SCRAM logins, ACLs, as in production; no TLS): the one
   at HX_BOOTSTRAP if the settings log in to it as its super-user, otherwise one started
   under ``<root>/.state/broker`` (on HX_BOOTSTRAP's port if free, else the next free
   pair) and stopped at the end. ``plain=True`` (``hxbus demo --plain``) is the
   development variant: a plain broker, no logins, no ACLs;
2. every agency and every province's bridge given an Ed25519 key: the demo runs on a
   copy of the agreement (``<root>/agreement.toml``) that lists the public keys, so every
   message is signed and verified and every audit record is signed by its bridge; then
   the agreement's topics, SCRAM users and ACLs provisioned;
3. the four province bridges as real subprocesses (``hxbus bridge run``), each with its
   own login (``bridge-<province>``), delivering to ``<root>/<province>/inbox/`` through
   the directory sink, the request tracker and the lookup service (operator services:
   ``admin``; the lookup answers the duplicate check of new need-to-know alerts, which
   the register cannot hold: design.md, Need to know);
4. ``simulate``-style traffic among the ten agencies, published from this process at the
   offered rate, each agency's events with that agency's own login and key, through the
   duplicate check before entry as ``hxbus publish`` runs it (the alert register, and
   the lookup service for need-to-know alerts), while the live view (``hxbus top``'s
   frame) refreshes every second;
5. once the bridges have caught up, a summary: published, delivered per province (and the
   files actually found under each root — the two must agree), dead letters by reason,
   requests answered in time, overdue, second notices, end-to-end p50/p99, and where the
   files are.

With ``console_port``, the exchange console (``hxbus.console``) is started before anything
else and its address printed first; it shows the run as the auditor. The demo's copy of
the agreement reads the answer deadlines' minutes as seconds (``DEADLINE_SCALE``: 10 min
becomes 10 s), so a 30-second run shows requests answered in time, overdue ones, and the
tracker's second notices, in the console and in the summary.

Every role serves ``/metrics`` on the ports of deploy/prometheus/prometheus.yml, so
Prometheus, Grafana or a second terminal's ``hxbus top`` can watch the demo too.

The demo's consumer groups are new for each run and start at the topics' end, so a
broker that already holds traffic (an earlier demo, the test suite) does not flood the
roots with old events: what the summary counts is this run's traffic. ``<root>`` is
emptied at the start of each run (it is demo output, nothing else).
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.live import Live
from rich.table import Table

from bridge.inbox_latency import Percentiles, file_latencies_ms
from bridge.runner import bridge_topics, default_group
from consumers.alert_register import load_register
from consumers.lag import read_lag
from consumers.lookup import INBOX_GROUP as LOOKUP_INBOX_GROUP
from consumers.offsets import start_group_at_end
from consumers.replay import read_dead_letters
from consumers.tracker import inbox_topics
from consumers.tracker_state import ItemState
from consumers.tracker_store import TrackerStore
from hxbus import broker
from hxbus.console import (
    AUDITOR,
    ConsoleServer,
    ExchangeConsole,
    OperatorLogins,
    Principal,
    RoleUrl,
    Sources,
)
from hxbus.healthz_wait import wait_healthy
from hxbus.metrics_view import Scrape, View, scrape
from hxbus.top_frame import DEFAULT_PORTS, render
from producers import (
    LazyLookup,
    Publisher,
    RateMeter,
    SyntheticTraffic,
    TokenBucket,
    paced,
    stamped_at,
)
from runtime import Settings, agreement_verifier, open_admin, open_consumer, run_provisioning
from runtime.access import run_access_provisioning
from runtime.kafka import broker_answers
from runtime.keys import add_province_public_key, add_public_key, generate_key, public_key_text
from runtime.metrics_server import start_metrics_server
from runtime.secrets import password_file, read_secret, secrets_dir
from runtime.signing import agreement_signer
from schemas import (
    BROADCAST_TOPICS,
    Agreement,
    ExchangeEvent,
    bridge_principal,
    inbox_topic,
    utc_now_ms,
)
from schemas.errors import ConfigError

PUBLISHER_PORT, TRACKER_PORT = DEFAULT_PORTS[0], DEFAULT_PORTS[1]
#: The lookup service's metrics port (beside the tracker's; not among ``hxbus top``'s).
LOOKUP_PORT = 9402
#: Bridge metrics ports by province, as deploy/prometheus/prometheus.yml lists them.
BRIDGE_PORTS: dict[str, int] = dict(zip(("JS", "SD", "HA", "AH"), DEFAULT_PORTS[2:], strict=True))
#: How long the bridges may take to drain after the last event before the summary.
DRAIN_TIMEOUT_S = 120.0
#: The demo's agreement divides every answer deadline by this: minutes become seconds.
DEADLINE_SCALE = 60
#: Events per second the demo offers unless told otherwise (``hxbus demo --rate``).
DEFAULT_RATE = 50.0
#: The desks' producer linger: a desk sends one event at a time (5/s each at the default
#: rate), so waiting for more to fill a batch only adds latency (docs/benchmarks.md).
DESK_LINGER_MS = 0
#: The longest a desk waits for another desk to send what its event answers (seconds).
ANSWER_WAIT_S = 30.0
#: What each event type answers (the record field naming it) and what it makes exist:
#: a desk answers only what exists, as a real desk answers only what it received.
ANSWERS: dict[str, str] = {
    "AlertHit": "alert_id",
    "HitConfirmation": "hit_id",
    "AssistanceResponse": "request_id",
}
MAKES: dict[str, str] = {
    "PersonAlert": "alert_id",
    "VehicleAlert": "alert_id",
    "AlertHit": "hit_id",
    "AssistanceRequest": "request_id",
}


@dataclass
class Role:
    """One subprocess the demo started: a bridge or the tracker."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    group: str
    topics: list[str]
    port: int

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"


@dataclass
class Summary:
    """What the demo reports at the end, and what its test checks."""

    #: Ran on a broker with SASL logins and ACLs (not ``--plain``).
    secured: bool = False
    #: Agencies and bridges that signed (every message, every audit record).
    signing_agencies: int = 0
    signing_bridges: int = 0
    published: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    second_notices: int = 0
    answered_in_time: int = 0
    #: End-to-end latency, created_at -> the file visible in the inbox, of the events
    #: this run published (``bridge.inbox_latency``, as ``hxbus bench`` measures it): all
    #: provinces, and per province. Second notices keep their request's issue time and
    #: are left out.
    latency: Percentiles | None = None
    latency_by_province: dict[str, Percentiles] = field(default_factory=dict)
    drained: bool = False
    #: Duplicate-check questions the lookup service answered, by outcome (hit, no_hit…).
    lookups: Counter[str] = field(default_factory=Counter)


class RegionalDemo:
    """Starts the region, drives traffic, reports; stops what it started, also on Ctrl-C."""

    def __init__(
        self,
        settings: Settings,
        agreement: Agreement,
        *,
        root: Path,
        duration_s: float,
        rate: float,
        seed: int,
        console: Console,
        live: bool,
        console_port: int | None = None,
        plain: bool = False,
    ) -> None:
        self.settings = settings
        #: Development variant: a plain broker, no logins, no ACLs.
        self.plain = plain
        #: Where the operator keeps the SCRAM passwords of a secured broker we are given.
        self._operator_state = settings.state_dir
        self.agreement = agreement
        self.root = root.resolve()
        self.duration_s = duration_s
        self.rate = rate
        self.seed = seed
        self.console = console
        self.live = live
        self.run_id = time.strftime("%Y%m%d%H%M%S")
        self.roles: list[Role] = []
        self.console_port = console_port
        self.web_console: ConsoleServer | None = None
        #: created_at (POSIX seconds) of every copy the desks published, by message id.
        self.created: dict[str, float] = {}

    def run(self) -> Summary:
        with ExitStack() as stack:
            self._check_metrics_ports()
            self._prepare_root()
            if self.console_port is not None:
                self._start_console(stack, self.console_port)
            self._sign_as_every_agency()
            stack.enter_context(self._broker())
            self._provision()
            stack.callback(self._stop_roles)
            self._start_roles()
            server = start_metrics_server(PUBLISHER_PORT, host=self.settings.metrics_host)
            stack.callback(server.stop)
            self._attach_console()
            summary = Summary(
                secured=not self.plain,
                signing_agencies=len(self.agreement.agencies),
                signing_bridges=len(self.agreement.provinces),
            )
            self._drive(summary)
            summary.drained = self._drain()
            self._collect(summary)
            return summary
        raise AssertionError("unreachable")  # pragma: no cover - ExitStack re-raises

    # --- setting up ------------------------------------------------------------------------

    def _check_metrics_ports(self) -> None:
        """Fail before anything starts when a role's /metrics port is taken: otherwise the
        broker starts and the role dies with a bind traceback buried in its log."""
        wanted = {"publisher": PUBLISHER_PORT, "tracker": TRACKER_PORT, "lookup": LOOKUP_PORT}
        wanted.update({f"bridge {p}": port for p, port in BRIDGE_PORTS.items()})
        for name, port in wanted.items():
            if broker.port_in_use(port):
                raise ConfigError(
                    f"metrics port {port} ({name}) on 127.0.0.1 is already in use by another "
                    "process (an earlier demo or role still running?): the demo's roles serve "
                    "/metrics on the ports deploy/prometheus/prometheus.yml scrapes; stop it"
                )

    def _prepare_root(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        for province in self.agreement.provinces:
            (self.root / province).mkdir(parents=True)
        (self.root / "logs").mkdir()

    def _sign_as_every_agency(self) -> None:
        """Keys for the ten agencies under ``<root>/.state``, public halves in a copy of
        the agreement; the demo's own settings and every role then use both."""
        state = self.root / ".state"
        agreement_copy = self.root / "agreement.toml"
        shutil.copyfile(self.settings.agreement, agreement_copy)
        scale_deadlines(agreement_copy, DEADLINE_SCALE)
        for agency in self.agreement.agencies:
            public = generate_key(state, agency.id).public_key()
            self.agreement = add_public_key(agreement_copy, agency.id, public_key_text(public))
        for province in self.agreement.provinces:
            public = generate_key(state, bridge_principal(province)).public_key()
            self.agreement = add_province_public_key(
                agreement_copy, province, public_key_text(public)
            )
        self.settings = self.settings.model_copy(
            update={"agreement": agreement_copy, "state_dir": state}
        )
        self._say(
            f"signing as each of the {len(self.agreement.agencies)} agencies and the "
            f"{len(self.agreement.provinces)} bridges (Ed25519)"
        )

    def _start_console(self, stack: ExitStack, port: int) -> None:
        """The console first, so its address is the first line: it waits for the region."""
        operators = OperatorLogins(self.root / ".state")
        console = ExchangeConsole(self.agreement, Principal(AUDITOR), operators)
        self.web_console = ConsoleServer(console, port=port)
        self.web_console.start()
        stack.callback(self.web_console.stop)
        self._say(f"console: {self.web_console.url} (as the auditor)")
        for name, path in operators.password_files.items():
            self._say(f"console: operator login {name!r}, password in {path}")

    def _attach_console(self) -> None:
        if self.web_console is None:
            return
        roles = [RoleUrl("publisher", "publisher", f"http://127.0.0.1:{PUBLISHER_PORT}/metrics")]
        for role in self.roles:
            kind, _, province = role.name.partition(" ")
            roles.append(RoleUrl(role.name, kind, role.metrics_url, province or None))
        tracker = next(r.group for r in self.roles if r.name == "tracker")
        sources = Sources.build(
            self.settings,
            self.agreement,
            self.web_console.console.principal,
            roles=roles,
            tracker_group=tracker,
            dlq_groups=[r.group for r in self.roles],
        )
        self.web_console.console.attach(sources)

    @contextmanager
    def _broker(self) -> Iterator[None]:
        """The broker at HX_BOOTSTRAP if it answers as wanted (plain, or secured with the
        settings' super-user login); else one of our own, stopped after."""
        logged_in = self.settings.effective_security_protocol.startswith("SASL_")
        if logged_in != self.plain and broker_answers(self.settings):
            kind = "plain development" if self.plain else "secured"
            self._say(f"using the {kind} Kafka broker at {self.settings.bootstrap}")
            self._keep_operator_passwords()
            yield
            return
        state = self.root / ".state" / "broker"
        port = _free_port_pair(broker.bootstrap_port(self.settings.bootstrap))
        kind = "plain, development only" if self.plain else "secured: SASL/SCRAM logins, ACLs"
        self._say(f"starting a Kafka broker (KRaft, one node, {kind}) — about 10 s")
        cluster = broker.start_cluster(state, nodes=1, port=port, secure=not self.plain)
        self.settings = broker.admin_settings(cluster).model_copy(
            update={
                "agreement": self.settings.agreement,
                "state_dir": self.settings.state_dir,
                "metrics_host": self.settings.metrics_host,
            }
        )
        self._say(f"Kafka runs at {cluster.bootstrap} (state in {state})")
        try:
            yield
        finally:
            self._say("stopping the demo's Kafka broker")
            broker.stop_cluster(state)

    def _keep_operator_passwords(self) -> None:
        """On a secured broker we did not start, provision with the passwords its operator
        already issued (``HX_STATE_DIR/secrets``): otherwise every login the demo finds
        without a password file here would be given a new password, locking out whoever
        uses it."""
        source = secrets_dir(self._operator_state)
        if self.plain or not source.is_dir():
            return
        target = secrets_dir(self.settings.state_dir)
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, 0o700)
        for secret in source.glob("scram-*.password"):
            shutil.copy2(secret, target / secret.name)  # keeps the 0600 mode

    def _provision(self) -> None:
        """Topics; on a secured broker also a SCRAM login and the ACLs of every agency,
        bridge and auditor (passwords under ``<root>/.state/secrets``)."""
        self._say(f"provisioning topics on {self.settings.bootstrap}")
        run_provisioning(self.settings, self.agreement)
        if self.plain:
            return
        access = run_access_provisioning(self.settings, self.agreement)
        if access is None:
            raise ConfigError(
                f"the broker at {self.settings.bootstrap} has no authorizer: not a secured "
                "broker (hxbus demo --plain runs on a plain development broker)"
            )
        self._say(
            f"logins and ACLs for {len(self.agreement.agencies)} agencies, "
            f"{len(self.agreement.provinces)} bridges and the auditor"
        )

    def login(self, user: str) -> Settings:
        """The demo's settings with ``user``'s provisioned login (plain: unchanged)."""
        if self.plain:
            return self.settings
        secret = read_secret(password_file(self.settings.state_dir, user))
        return self.settings.model_copy(
            update={"sasl_username": user, "sasl_password": SecretStr(secret)}
        )

    def _role_env(self, settings: Settings) -> dict[str, str]:
        """The environment of a role subprocess that logs in as ``settings`` does."""
        env = {
            **os.environ,
            "HX_BOOTSTRAP": settings.bootstrap,
            "HX_AGREEMENT": str(settings.agreement),
            "HX_STATE_DIR": str(settings.state_dir),
        }
        for name in ("HX_SASL_USERNAME", "HX_SASL_PASSWORD", "HX_SECURITY_PROTOCOL"):
            env.pop(name, None)
        if settings.sasl_username and settings.sasl_password:
            env["HX_SASL_USERNAME"] = settings.sasl_username
            env["HX_SASL_PASSWORD"] = settings.sasl_password.get_secret_value()
        return env

    def _start_roles(self) -> None:
        for province in self.agreement.provinces:
            # Under the bridge's own group prefix, which its ACLs grant (runtime.access).
            group = f"{default_group(province)}.demo.{self.run_id}"
            self._start(
                f"bridge {province}",
                group,
                bridge_topics(self.agreement, province),
                BRIDGE_PORTS[province],
                [
                    "bridge", "run", "--province", province,
                    "--root", str(self.root / province), "--group", group,
                ],
                self._role_env(self.login(bridge_principal(province))),
            )  # fmt: skip
        group = f"hx.demo.{self.run_id}.tracker"
        self._start(
            "tracker",
            group,
            inbox_topics(self.agreement, None),
            TRACKER_PORT,
            ["tracker", "run", "--group", group],
            self._role_env(self.settings),  # an operator service: the super-user
        )
        # The lookup service's groups are its own (fixed names): started at the inboxes'
        # end like the others, it indexes this run's need-to-know alerts.
        self._start(
            "lookup",
            LOOKUP_INBOX_GROUP,
            inbox_topics(self.agreement, None),
            LOOKUP_PORT,
            ["lookup-service"],
            self._role_env(self.settings),  # an operator service: holds the lookup key
        )
        self._wait_ready()
        self._say_where_to_watch()

    def _say_where_to_watch(self) -> None:
        """Where a second terminal, Prometheus or Grafana can follow the run, and the logs."""
        ports = ", ".join(
            str(p) for p in (PUBLISHER_PORT, TRACKER_PORT, LOOKUP_PORT, *BRIDGE_PORTS.values())
        )
        top = Path(sys.executable).parent / "hxbus"
        self._say(f"metrics: http://127.0.0.1:<port>/metrics on ports {ports}")
        self._say(f"watch from a second terminal: {top} top")
        self._say(
            "Prometheus: deploy/prometheus/prometheus.yml scrapes those ports (alert rules in "
            "deploy/prometheus/rules.yml); Grafana: import deploy/grafana/dashboard.json"
        )
        self._say(f"role logs: {self.root / 'logs'}")

    def _start(
        self,
        name: str,
        group: str,
        topics: list[str],
        port: int,
        argv: list[str],
        env: dict[str, str],
    ) -> None:
        # A new group starts at the end of the topics: this run's traffic only.
        start_group_at_end(self.settings, group, topics)
        log = self.root / "logs" / f"{name.replace(' ', '-')}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # our own interpreter and module
                [sys.executable, "-m", "hxbus", *argv, "--metrics-port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the demo; the demo stops them
            )
        self.roles.append(Role(name, process, log, group, topics, port))

    def _wait_ready(self, timeout_s: float = 90.0) -> None:
        """Every role's /healthz answers 200 (connected and assigned), or a clear error."""
        self._say(f"starting {len(self.roles)} roles: " + ", ".join(r.name for r in self.roles))
        wait_healthy(
            self.roles,
            lambda role: (
                None
                if role.process.poll() is None
                else ConfigError(
                    f"{role.name} exited with {role.process.returncode}; see {role.log}"
                )
            ),
            timeout_s,
            interval_s=0.2,
        )

    # --- running ---------------------------------------------------------------------------

    def _drive(self, summary: Summary) -> None:
        """Publish the synthetic traffic while the live view refreshes."""
        count = round(self.rate * self.duration_s)
        self._say(f"publishing {count} events at {self.rate:g}/s for {self.duration_s:g} s")
        done = threading.Event()
        failure: list[BaseException] = []

        def publish() -> None:
            try:
                with AgencyDesks(self, summary) as desks:
                    # The clock starts once the ten desks are connected, and each event is
                    # stamped when its turn comes (``stamped_at``), not when a schedule begun
                    # before the set-up wanted it: that gap (0.3-0.7 s) was the demo's latency.
                    traffic = SyntheticTraffic(
                        self.agreement,
                        seed=self.seed,
                        start=utc_now_ms(),
                        spacing=timedelta(seconds=1 / self.rate),
                    )
                    bucket = TokenBucket(self.rate, burst=max(1.0, self.rate / 10))
                    for event in paced(islice(traffic, count), bucket, RateMeter()):
                        desks.send(stamped_at(event, utc_now_ms()))
            except BaseException as exc:  # reported in the main thread
                failure.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=publish, name="demo-publisher", daemon=True)
        worker.start()
        self._watch(done.is_set)
        worker.join()
        if failure:
            raise failure[0]

    def _drain(self) -> bool:
        """Wait until every role has committed everything (lag 0), or the timeout."""
        self._say("waiting for the bridges to deliver the rest")
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        admin = open_admin(self.settings)
        consumer = open_consumer(self.settings)
        try:

            def caught_up() -> bool:
                return all(
                    sum(read_lag(admin, consumer, role.group, role.topics).values()) == 0
                    for role in self.roles
                ) or (time.monotonic() > deadline)

            self._watch(caught_up)
            return time.monotonic() <= deadline
        finally:
            consumer.close()
            admin.close()

    def _watch(self, check: Callable[[], bool]) -> None:
        """Refresh the live view (or a line every 5 s off a terminal) until ``check()``."""
        urls = [f"http://127.0.0.1:{PUBLISHER_PORT}/metrics"] + [r.metrics_url for r in self.roles]
        previous: Scrape | None = None
        names = {a.id: a.city for a in self.agreement.agencies}
        if self.live:
            with Live(console=self.console, auto_refresh=False, transient=False) as live:
                while not check():
                    now = scrape(urls)
                    live.update(render(View(now, previous), names), refresh=True)
                    previous = now
                    time.sleep(1.0)
            return
        last = 0.0
        while not check():
            if time.monotonic() - last >= 5.0:
                view = View(scrape(urls), None)
                published = view.total("hx_published_total", outcome="ok").total
                delivered = view.total("hx_bridge_deliveries_total", outcome="delivered").total
                self._say(f"published {published:.0f}, delivered {delivered:.0f}")
                last = time.monotonic()
            time.sleep(0.5)

    # --- the end ---------------------------------------------------------------------------

    def _collect(self, summary: Summary) -> None:
        view = View(scrape([r.metrics_url for r in self.roles]), None)
        for province in self.agreement.provinces:
            rows = view.rows(
                "hx_bridge_deliveries_total", ("province",), outcome="delivered", province=province
            )
            summary.delivered[province] = int(sum(row.total for row in rows))
            summary.files[province] = _count_files(self.root / province / "inbox")
        summary.overdue = int(sum(view.gauge("hx_requests_overdue", ()).values()))
        summary.second_notices = int(view.total("hx_requests_second_notices_total").total)
        summary.answered_in_time = self._answered_in_time()
        self._measure_latency(summary)
        for row in view.rows("hx_lookups_total", ("outcome",)):
            summary.lookups[row.key[0]] += int(row.total)
        for role in self.roles:
            for letter in read_dead_letters(self.settings, role.group):
                summary.dead_letters[letter.reason] += 1

    def _measure_latency(self, summary: Summary) -> None:
        """Each delivered file's ctime minus the created_at of the copy it carries."""
        everywhere: list[float] = []
        for province in self.agreement.provinces:
            values = file_latencies_ms(self.root / province / "inbox", self.created)
            everywhere += values
            measured = Percentiles.of(values)
            if measured is not None:
                summary.latency_by_province[province] = measured
        summary.latency = Percentiles.of(everywhere)

    def _answered_in_time(self) -> int:
        """Requests and hit confirmations answered by their deadline (the tracker's state)."""
        tracker = next((r for r in self.roles if r.name == "tracker"), None)
        if tracker is None:
            return 0
        now = datetime.now(UTC)
        with TrackerStore.for_group(self.settings.state_dir, tracker.group) as store:
            return sum(
                1
                for item in store.items()
                if item.state(now) is ItemState.ANSWERED and not item.answered_late
            )

    def _stop_roles(self) -> None:
        for role in self.roles:
            if role.process.poll() is None:
                os.killpg(role.process.pid, signal.SIGTERM)
        for role in self.roles:
            try:
                role.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(role.process.pid, signal.SIGKILL)
                role.process.wait()

    def _say(self, text: str) -> None:
        self.console.print(f"[bold]demo[/bold]: {text}", highlight=False)


class AgencyDesks:
    """One publisher per agency, each with the agency's own login and key, fed in the
    order of the synthetic traffic: what ten duty desks would send, each as itself.

    The desks send in parallel, but an event that answers another desk's event (a hit on
    its alert, a confirmation of its hit, a response to its request) waits until that
    desk has handed its event to the producer: a real desk answers only what it received.
    Without that wait, a desk held up by its duplicate-check lookup sent its hit after
    the issuer's confirmation of it, so the reporter's inbox held the confirmation ahead
    of the sender's copy of the hit, and receivers retried or refused it (issue 14).
    Waits point to earlier events of the traffic only, so no two desks wait on each other.
    """

    def __init__(self, demo: RegionalDemo, summary: Summary) -> None:
        self._summary = summary
        self._created = demo.created
        self._lock = threading.Lock()
        self._queues: dict[str, queue.Queue[_DeskItem | None]] = {}
        #: Per ("alert_id" | "hit_id" | "request_id", id): set once its event was handed to
        #: the producer by its desk (sequencer thread writes, desk threads read).
        self._handed: dict[tuple[str, str], threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._failures: list[BaseException] = []
        self._publishers: dict[str, Publisher] = {}
        self._lookups: list[LazyLookup] = []
        bus_topics = [
            *BROADCAST_TOPICS.values(),
            *(inbox_topic(a.id) for a in demo.agreement.agencies),
        ]
        for agency in demo.agreement.agencies:
            settings = demo.login(agency.id)
            signer = agreement_signer(settings, demo.agreement, agency.id)
            # The duplicate check as ``hxbus publish`` runs it: the register as the
            # agency's login reads it, and the lookup service for need-to-know alerts.
            verifier = agreement_verifier(demo.agreement, role="publish")
            live, _ = load_register(settings, verifier=verifier)
            lookup = LazyLookup(settings, agency.id, signer=signer)
            self._lookups.append(lookup)
            publisher = Publisher(
                settings,
                demo.agreement,
                signer=signer,
                live_alerts=live,
                lookup=lookup,
                linger_ms=DESK_LINGER_MS,
            )
            # Each topic's partitions fetched now, not at the first send to it (a wait that
            # would count in the first events' latency).
            publisher.warm_up(bus_topics)
            self._publishers[agency.id] = publisher
            self._queues[agency.id] = queue.Queue()

    def __enter__(self) -> AgencyDesks:
        for agency, publisher in self._publishers.items():
            thread = threading.Thread(
                target=self._desk, args=(agency, publisher), name=f"desk-{agency}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def send(self, event: ExchangeEvent) -> None:
        if self._failures:
            raise self._failures[0]
        answered = ANSWERS.get(event.event_type)
        after = None
        if answered is not None:
            after = self._handed.get((answered, str(event.record.get(answered))))
        made = MAKES.get(event.event_type)
        handed = None
        if made is not None:
            handed = self._handed.setdefault((made, str(event.record.get(made))), threading.Event())
        self._queues[event.envelope.source].put(_DeskItem(event, after, handed))

    def _desk(self, agency: str, publisher: Publisher) -> None:
        def events() -> Iterator[ExchangeEvent]:
            while (item := self._queues[agency].get()) is not None:
                if item.after is not None:
                    item.after.wait(ANSWER_WAIT_S)
                # ``publish_many`` asks for the next event only once it has handed this
                # one to the producer: then its answers may go.
                yield item.event
                if item.handed is not None:
                    item.handed.set()

        try:
            with publisher:
                for outcome in publisher.publish_many(events()):
                    with self._lock:
                        if outcome.ok:
                            self._summary.published[outcome.event.event_type] += 1
                            # Files are named by the copy's message id (or the event's).
                            created = outcome.event.envelope.created_at.timestamp()
                            self._created[outcome.event.envelope.message_id] = created
                            for receipt in outcome.receipts:
                                self._created[receipt.message_id] = created
                        else:
                            self._summary.refused += 1
        except BaseException as exc:  # reported by the sending thread
            self._failures.append(exc)

    def __exit__(self, *exc_info: object) -> None:
        for waiting in self._queues.values():
            waiting.put(None)
        for thread in self._threads:
            thread.join()
        for lookup in self._lookups:
            lookup.close()
        if self._failures:
            raise self._failures[0]


@dataclass(frozen=True, slots=True)
class _DeskItem:
    """An event for a desk, what it waits for, and what it signals once handed over."""

    event: ExchangeEvent
    after: threading.Event | None
    handed: threading.Event | None


def _free_port_pair(port: int) -> int:
    """``port`` if it and ``port + 1`` are free, else the next such even step above it."""
    for candidate in range(port, port + 400, 2):
        if not broker.port_in_use(candidate) and not broker.port_in_use(candidate + 1):
            return candidate
    raise ConfigError(f"no free pair of ports from {port} on for the demo's broker")


def summary_table(summary: Summary, root: Path) -> Table:
    """The closing table: per province, delivered (metrics) next to files found."""
    table = Table(title="hxbus regional demo — summary", show_lines=False)
    table.add_column("province")
    table.add_column("delivered", justify="right")
    table.add_column("files in inbox", justify="right")
    table.add_column("where")
    for province, delivered in summary.delivered.items():
        table.add_row(
            province,
            str(delivered),
            str(summary.files.get(province, 0)),
            str(root / province / "inbox"),
        )
    return table


def summary_lines(summary: Summary) -> list[str]:
    published = sum(summary.published.values())
    by_type = ", ".join(f"{t} {n}" for t, n in sorted(summary.published.items()))
    dead = ", ".join(f"{r} {n}" for r, n in sorted(summary.dead_letters.items())) or "none"
    if summary.secured:
        trust = (
            f"ran signed on a secured broker: Ed25519 signatures of {summary.signing_agencies} "
            f"agencies verified by every receiver, audit records signed by "
            f"{summary.signing_bridges} bridges; SASL/SCRAM logins per agency, bridge and "
            "auditor; ACLs"
        )
    else:
        trust = (
            f"ran signed ({summary.signing_agencies} agencies, {summary.signing_bridges} "
            "bridges) on a PLAIN development broker: no logins, no ACLs (--plain)"
        )
    return [
        trust,
        f"published {published} events ({by_type}); refused before sending: {summary.refused}",
        f"dead letters by reason: {dead}",
        "duplicate check of need-to-know alerts, lookups answered: "
        + (", ".join(f"{o} {n}" for o, n in sorted(summary.lookups.items())) or "none"),
        f"requests and hit confirmations answered in time: {summary.answered_in_time}; "
        f"overdue: {summary.overdue}; second notices sent: {summary.second_notices}",
        latency_line(summary),
        "all delivered"
        if summary.drained
        else f"the bridges had not caught up after {DRAIN_TIMEOUT_S:.0f} s",
    ]


def scale_deadlines(agreement_file: Path, divisor: int) -> None:
    """Divide every ``[deadlines]`` value of an agreement file by ``divisor`` (at least 1 s)."""
    lines, section = [], ""
    for line in agreement_file.read_text(encoding="utf-8").splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif section == "[deadlines]" and "=" in stripped and not stripped.startswith("#"):
            name, _, value = stripped.partition("=")
            seconds = int(value.split("#")[0].strip())
            line = f"{name.strip()} = {max(1, seconds // divisor)}\n"
        lines.append(line)
    agreement_file.write_text("".join(lines), encoding="utf-8")


def latency_line(summary: Summary) -> str:
    """The summary's latency line: all provinces, then each."""
    head = "end-to-end latency (created_at -> file visible in the inbox, second notices left out)"
    if summary.latency is None:
        return f"{head}: no files"
    each = ", ".join(
        f"{p} {_ms(m.p50_ms)}/{_ms(m.p99_ms)}" for p, m in summary.latency_by_province.items()
    )
    return (
        f"{head}: p50 {_ms(summary.latency.p50_ms)}, p99 {_ms(summary.latency.p99_ms)} over "
        f"{summary.latency.count} files (p50/p99 by province: {each})"
    )


def _ms(milliseconds: float) -> str:
    return f"{milliseconds:.0f} ms"


def _count_files(directory: Path) -> int:
    """Delivered files: the directory sink's temp files start with a dot."""
    if not directory.is_dir():
        return 0
    return sum(1 for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
