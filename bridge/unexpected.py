"""One input that hxbus itself fails on (a bug, not a broken rule) is refused, never fatal.

The outbox and the profiles' batch readers catch what is not an ``HxError`` around each
input (a file, one line of a batch) and turn it into a ``LocalFormatError`` naming the
error class, so that the input goes to ``rejected/`` with a reason and its neighbours go
on. The metric ``hx_bridge_unexpected_errors_total`` counts it and the log names the class
and the place in the code, never the error's text: Python's messages quote values
(``invalid literal for int(): '…'``), which may be personal data.
"""

from __future__ import annotations

import traceback

import structlog

from runtime.metrics import UNEXPECTED_INPUT_ERRORS
from schemas.errors import LocalFormatError

log = structlog.get_logger("hxbus.outbox")


def unexpected_error(
    profile: str, stage: str, error: BaseException, where: str
) -> LocalFormatError:
    """The refusal of one input hxbus failed on: counted, logged without values, returned.

    ``stage`` is one of ``runtime.metrics.INPUT_STAGES``; ``where`` names the input
    (``file.dat: line 3``) and starts the error's text.
    """
    UNEXPECTED_INPUT_ERRORS.labels(profile, stage).inc()
    frames = traceback.extract_tb(error.__traceback__)
    place = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"
    log.error(
        "outbox_unexpected_error",
        profile=profile,
        stage=stage,
        error_class=type(error).__name__,
        at=place,
    )
    return LocalFormatError(
        f"{where}: hxbus failed on this input ({type(error).__name__}); "
        "it is refused and counted, please report it"
    )
