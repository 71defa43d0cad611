"""``hxbus bench``: throughput, latency and memory of hxbus beside raw kafka-python.

Not part of the product's flow (nothing imports it but the ``bench`` command): it drives
the Publisher, the bridge command and raw kafka-python clients against a real broker
and reports both sides of each comparison from the same run.
"""

from bench.report import markdown, print_tables
from bench.run import FULL, QUICK, TINY, Plan, machine, run_bench

__all__ = ["FULL", "QUICK", "TINY", "Plan", "machine", "markdown", "print_tables", "run_bench"]
