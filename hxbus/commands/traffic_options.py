"""The options of the commands that run the whole region with synthetic traffic
(``hxbus demo``, ``hxbus drill``): ``--rate R``, ``--seed N``, ``--root DIR``, written once
so that the two read and check them alike.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: Above this the shared two-core machine cannot keep up; a typo more likely than a wish.
MAX_RATE = 1000.0


def add_traffic_arguments(
    parser: argparse.ArgumentParser, *, rate: float, seed: int, root: Path, root_help: str
) -> None:
    """Add ``--rate``, ``--seed`` and ``--root`` with these defaults."""
    parser.add_argument(
        "--rate",
        type=rate_per_second,
        default=rate,
        metavar="R",
        help=f"events per second ({rate:g}; at most {MAX_RATE:g})",
    )
    parser.add_argument(
        "--seed", type=int, default=seed, metavar="N", help=f"same seed, same events ({seed})"
    )
    parser.add_argument(
        "--root", type=Path, default=root, metavar="DIR", help=f"{root_help} ({root})"
    )


def positive(text: str) -> float:
    """A number above 0 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def rate_per_second(text: str) -> float:
    """Events per second: above 0, at most ``MAX_RATE``."""
    value = positive(text)
    if value > MAX_RATE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_RATE:g}, not {text}")
    return value
