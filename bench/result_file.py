"""The result file of ``hxbus bench --out``, written after every section.

A full run takes many minutes; a stall or a failure in a late section must not lose the
figures of the earlier ones. So the file is rewritten after each section, atomically (a
temporary file beside it, then a rename: a reader, or a run killed mid-write, sees the
previous version or the new one, never half of one), with ``"complete": false`` until the
last section is in, and ``"failed": {"section": ..., "reason": ...}`` when one failed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Replace ``path`` with ``result`` as indented JSON, atomically."""
    path = path.resolve()
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, 0o644)  # mkstemp's 0600 would hide a result that is no secret
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
