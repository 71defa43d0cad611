"""The exchange console: a live web view of the region for the ops team and duty desks.

``hxbus console`` serves it; ``hxbus demo`` starts one beside the region it runs. It
reads what the roles already publish (their ``/metrics``, the alert topics, the inboxes'
headers, the tracker's state, the DLQs) and changes nothing but for an operator's replay.
"""

from hxbus.console.dead_letters import DeadLetterDesk, audit_path, read_audit
from hxbus.console.exchange_console import AlertFilter, ExchangeConsole, Sources
from hxbus.console.operators import OperatorLogins, operator_password_file
from hxbus.console.principal import AUDITOR, Principal
from hxbus.console.region_watch import RegionWatch, RoleUrl, standard_roles
from hxbus.console.server import DEFAULT_HOST, DEFAULT_PORT, ConsoleServer
from hxbus.console.topic_reader import TopicReader

__all__ = [
    "AUDITOR",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "AlertFilter",
    "ConsoleServer",
    "DeadLetterDesk",
    "ExchangeConsole",
    "OperatorLogins",
    "Principal",
    "RegionWatch",
    "RoleUrl",
    "Sources",
    "TopicReader",
    "audit_path",
    "operator_password_file",
    "read_audit",
    "standard_roles",
]
