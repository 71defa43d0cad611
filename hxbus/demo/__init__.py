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

The package, by step: ``region`` (``RegionalDemo``, the steps in order),
``agreement_copy`` (step 2's keys and deadlines), ``region_broker`` (step 1, and
provisioning), ``roles`` (step 3's subprocesses), ``desks`` (step 4's publishers),
``summary`` (step 5), ``ports`` (the agreement's metrics ports, checked free).
"""

from hxbus.demo.agreement_copy import DEADLINE_SCALE, scale_deadlines
from hxbus.demo.ports import DemoPorts
from hxbus.demo.region import DEFAULT_RATE, RegionalDemo
from hxbus.demo.roles import Role
from hxbus.demo.summary import DRAIN_TIMEOUT_S, Summary, latency_line, summary_lines, summary_table

__all__ = [
    "DEADLINE_SCALE",
    "DEFAULT_RATE",
    "DRAIN_TIMEOUT_S",
    "DemoPorts",
    "RegionalDemo",
    "Role",
    "Summary",
    "latency_line",
    "scale_deadlines",
    "summary_lines",
    "summary_table",
]
