"""``RegionalDemo``: the steps of ``hxbus demo`` in order (see the package docstring),
and stopping what it started, also on Ctrl-C."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.live import Live

from bridge.inbox_latency import Percentiles, file_latencies_ms
from bridge.runner import bridge_topics, default_group
from consumers.lag import read_lag
from consumers.lookup import INBOX_GROUP as LOOKUP_INBOX_GROUP
from consumers.replay import read_dead_letters
from consumers.start_up_heap import freeze_start_up_heap
from consumers.tracker import ItemState, TrackerStore, inbox_topics
from hxbus.console import (
    AUDITOR,
    ConsoleServer,
    ExchangeConsole,
    OperatorLogins,
    Principal,
    RoleUrl,
    Sources,
)
from hxbus.demo.agreement_copy import sign_as_every_agency
from hxbus.demo.desks import AgencyDesks
from hxbus.demo.ports import DemoPorts
from hxbus.demo.region_broker import provision_region, region_broker
from hxbus.demo.roles import Role, role_env, start_role, stop_roles, wait_ready
from hxbus.demo.summary import DRAIN_TIMEOUT_S, Summary, count_files
from hxbus.metrics_view import Scrape, View, scrape
from hxbus.top_frame import render
from producers import RateMeter, SyntheticTraffic, TokenBucket, paced, stamped_at
from runtime import Settings, open_admin, open_consumer
from runtime.metrics_server import start_metrics_server
from runtime.secrets import password_file, read_secret
from schemas import Agreement, bridge_principal, utc_now_ms

#: Events per second the demo offers unless told otherwise (``hxbus demo --rate``).
DEFAULT_RATE = 50.0


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
        bridge_workers: int = 1,
    ) -> None:
        self.settings = settings
        #: Worker processes per province bridge (``hxbus bridge run --workers``).
        self.bridge_workers = bridge_workers
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
        #: Where each role serves /metrics: the agreement's ports.
        self.ports = DemoPorts.of(agreement, bridge_workers)

    def run(self) -> Summary:
        with ExitStack() as stack:
            self.ports.check_free()
            self._prepare_root()
            if self.console_port is not None:
                self._start_console(stack, self.console_port)
            self._sign_as_every_agency()
            self.settings = stack.enter_context(
                region_broker(
                    self.settings,
                    self.root,
                    plain=self.plain,
                    operator_state=self._operator_state,
                    say=self._say,
                )
            )
            provision_region(self.settings, self.agreement, plain=self.plain, say=self._say)
            stack.callback(stop_roles, self.roles)
            self._start_roles()
            server = start_metrics_server(self.ports.publisher, host=self.settings.metrics_host)
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

    def login(self, user: str) -> Settings:
        """The demo's settings with ``user``'s provisioned login (plain: unchanged)."""
        if self.plain:
            return self.settings
        secret = read_secret(password_file(self.settings.state_dir, user))
        return self.settings.model_copy(
            update={"sasl_username": user, "sasl_password": SecretStr(secret)}
        )

    # --- setting up ------------------------------------------------------------------------

    def _prepare_root(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        for province in self.agreement.provinces:
            (self.root / province).mkdir(parents=True)
        (self.root / "logs").mkdir()

    def _sign_as_every_agency(self) -> None:
        """Keys for the agencies and bridges; the demo's own settings and every role then
        use them and the agreement copy that lists their public halves."""
        self.settings, self.agreement = sign_as_every_agency(
            self.settings, self.agreement, self.root
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
        publisher = f"http://127.0.0.1:{self.ports.publisher}/metrics"
        roles = [RoleUrl("publisher", "publisher", publisher)]
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

    def _start_roles(self) -> None:
        """The bridges (each with its own login), the tracker and the lookup service."""
        for province in self.agreement.provinces:
            # Under the bridge's own group prefix, which its ACLs grant (runtime.access).
            group = f"{default_group(province)}.demo.{self.run_id}"
            argv = [
                "bridge", "run", "--province", province,
                "--root", str(self.root / province), "--group", group,
                "--workers", str(self.bridge_workers),
            ]  # fmt: skip
            topics = bridge_topics(self.agreement, province)
            login = self.login(bridge_principal(province))
            port = self.ports.bridges[province]
            self._start(f"bridge {province}", group, topics, port, argv, login, self.bridge_workers)
        inboxes = inbox_topics(self.agreement, None)
        group = f"hx.demo.{self.run_id}.tracker"
        # Operator services log in as the super-user (the lookup service holds the key).
        argv = ["tracker", "run", "--group", group]
        self._start("tracker", group, inboxes, self.ports.tracker, argv, self.settings)
        # The lookup service's groups are its own (fixed names): started at the inboxes'
        # end like the others, it indexes this run's need-to-know alerts.
        argv = ["lookup-service", "run"]
        self._start("lookup", LOOKUP_INBOX_GROUP, inboxes, self.ports.lookup, argv, self.settings)
        self._say(f"starting {len(self.roles)} roles: " + ", ".join(r.name for r in self.roles))
        wait_ready(self.roles)
        self._say_where_to_watch()

    def _start(
        self,
        name: str,
        group: str,
        topics: list[str],
        port: int,
        argv: list[str],
        login: Settings,
        workers: int = 1,
    ) -> None:
        logs = self.root / "logs"
        env = role_env(login)
        self.roles.append(
            start_role(self.settings, logs, name, group, topics, port, argv, env, workers)
        )

    def _say_where_to_watch(self) -> None:
        """Where a second terminal, Prometheus or Grafana can follow the run, and the logs."""
        ports = ", ".join(str(p) for p in self.ports.all().values())
        top = Path(sys.executable).parent / "hxbus"
        self._say(f"metrics: http://127.0.0.1:<port>/metrics on ports {ports}")
        self._say(f"watch from a second terminal: {top} top")
        self._say(
            "Prometheus: deploy/prometheus/prometheus.yml scrapes those ports (alert rules in "
            "deploy/prometheus/rules.yml); Grafana: import deploy/grafana/dashboard.json"
        )
        self._say(f"role logs: {self.root / 'logs'}")

    # --- running ---------------------------------------------------------------------------

    def _drive(self, summary: Summary) -> None:
        """Publish the synthetic traffic while the live view refreshes."""
        count = round(self.rate * self.duration_s)
        self._say(f"publishing {count} events at {self.rate:g}/s for {self.duration_s:g} s")
        done = threading.Event()
        failure: list[BaseException] = []

        def publish() -> None:
            try:
                with AgencyDesks(self.agreement, self.login, summary, self.created) as desks:
                    # The desks' and the register's start-up objects out of the collector's
                    # full walks: one during the traffic held every desk 0.1-0.25 s.
                    freeze_start_up_heap()
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
        publisher = f"http://127.0.0.1:{self.ports.publisher}/metrics"
        urls = [publisher] + [url for role in self.roles for url in role.metrics_urls]
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
        view = View(scrape([url for role in self.roles for url in role.metrics_urls]), None)
        for province in self.agreement.provinces:
            rows = view.rows(
                "hx_bridge_deliveries_total", ("province",), outcome="delivered", province=province
            )
            summary.delivered[province] = int(sum(row.total for row in rows))
            summary.files[province] = count_files(self.root / province / "inbox")
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

    def _say(self, text: str) -> None:
        self.console.print(f"[bold]demo[/bold]: {text}", highlight=False)
