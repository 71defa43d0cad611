"""The fuzz tier imports the valid-event strategies of the unit tier (``hx_event_strategies``).

pytest puts a test's own folder on ``sys.path`` (rootdir-relative imports, no packages);
the unit tier's folder is added here so that ``pytest tests/fuzz`` runs on its own too.
``scripts/fuzz`` sets ``PYTHONPATH`` the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

_UNIT = str(Path(__file__).resolve().parents[1] / "unit")
if _UNIT not in sys.path:
    sys.path.append(_UNIT)
