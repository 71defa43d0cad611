"""The resilience drill (``hxbus drill``): faults under load on a three-broker cluster,
with an independent ledger proving nothing lost and nothing doubled (issue 18).

An ops tool beside the command line, like ``hxbus.broker``: ``region`` starts the cluster,
roles and receiver as real processes; ``publisher`` is the drill's duty desk (its own
process, so a kill -9 is real); ``ledger`` and ``rulebook`` record what was acknowledged
and who must receive it; ``faults`` injects; ``check`` compares the local systems with
the ledger; ``report`` renders; ``run`` puts it together.
"""

from hxbus.drill.check import Result, check
from hxbus.drill.faults import FAULT_NAMES, FAULTS, Fault, FaultRecord, Timing, select_faults
from hxbus.drill.ledger import Copy, Ledger
from hxbus.drill.receiver import Receiver
from hxbus.drill.region import Region, free_port_base
from hxbus.drill.report import as_dict, as_json, as_markdown, as_table, summary_lines
from hxbus.drill.rulebook import Due, Rulebook, business_key
from hxbus.drill.run import Drill, DrillRun

__all__ = [
    "FAULTS",
    "FAULT_NAMES",
    "Copy",
    "Drill",
    "DrillRun",
    "Due",
    "Fault",
    "FaultRecord",
    "Ledger",
    "Receiver",
    "Region",
    "Result",
    "Rulebook",
    "Timing",
    "as_dict",
    "as_json",
    "as_markdown",
    "as_table",
    "business_key",
    "check",
    "free_port_base",
    "select_faults",
    "summary_lines",
]
