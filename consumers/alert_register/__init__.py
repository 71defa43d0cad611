"""The alert register role: every alert's current state on a compacted topic, loaded by
every reader (``register``) and kept by the role (``role``), the fold of revisions and
status changes (``state``), the register as the authority gate's source of alerts
(``facts``), and an issuer's own need-to-know copies read back (``issued_copies``)."""

from consumers.alert_register.facts import RegisterFacts, RegisterLookup
from consumers.alert_register.issued_copies import (
    IssuedCopy,
    is_issuer_copy,
    is_shared_copy,
    learn_audiences,
    read_issued_copies,
    read_shared_copies,
)
from consumers.alert_register.register import (
    ALERT_TOPICS,
    REGISTER_TYPES,
    LoadStats,
    RegisterLoader,
    load_register,
    publicly_foldable,
)
from consumers.alert_register.role import RegisterWriter, run_register
from consumers.alert_register.state import AlertRegister, AlertState

__all__ = [
    "ALERT_TOPICS",
    "REGISTER_TYPES",
    "AlertRegister",
    "AlertState",
    "IssuedCopy",
    "LoadStats",
    "RegisterFacts",
    "RegisterLoader",
    "RegisterLookup",
    "RegisterWriter",
    "is_issuer_copy",
    "is_shared_copy",
    "learn_audiences",
    "load_register",
    "publicly_foldable",
    "read_issued_copies",
    "read_shared_copies",
    "run_register",
]
