"""``scripts/fuzz``: long fuzzing runs, target by target, with a table of what happened.

    scripts/fuzz [--minutes M] [--target T]... [--seed N] [--inputs N] [--findings DIR]

Each target runs for ``--minutes`` (default 1) or ``--inputs`` inputs, whichever ends
first; targets run one after the other. Every finding (crash, hang, accepted-but-wrong) is
saved under ``--findings`` (default ``fuzz-findings/``) as ``<target>/<kind>-<digest>.bin``
with its detail beside it: copy it into ``tests/fuzz/regressions/`` under a name that
says what it is, with its expected refusal in ``test_fuzz_regressions.py``. Exit status 1
when anything was found.

Seeds: each run of a target draws from ``random.Random(f"{target}:{seed}")``; the CI
tier uses seed 0 and 2,000 inputs, so a long run should use another seed (default: the
current time, printed so that the run can be repeated).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fuzz_engine import run, save
from fuzz_targets import all_targets


def main(argv: list[str] | None = None) -> int:
    targets = all_targets()
    parser = argparse.ArgumentParser(
        prog="scripts/fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=1.0, help="per target (default 1)")
    parser.add_argument("--inputs", type=int, default=None, help="per target, at most")
    parser.add_argument("--target", action="append", choices=sorted(targets), help="repeatable")
    parser.add_argument("--seed", type=int, default=None, help="default: the current time")
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    names = args.target or list(targets)
    print(f"fuzz: seed {seed}, {args.minutes:g} min per target, targets: {', '.join(names)}")
    print(
        f"{'target':<20} {'inputs':>9} {'accepted':>9} {'refused':>9} "
        f"{'crashes':>8} {'hangs':>6} {'wrong':>6} {'minutes':>8}"
    )
    found = 0
    for name in names:
        started = time.monotonic()
        stats = run(
            targets[name],
            inputs=args.inputs,
            seconds=args.minutes * 60,
            seed=seed,
            on_finding=lambda finding: save(finding, args.findings),
        )
        spent = (time.monotonic() - started) / 60
        print(
            f"{name:<20} {stats.inputs:>9} {stats.accepted:>9} {stats.refused:>9} "
            f"{stats.count('crash'):>8} {stats.count('hang'):>6} {stats.count('wrong'):>6} "
            f"{spent:>8.1f}",
            flush=True,
        )
        for finding in stats.findings[:5]:
            print(f"    {finding.kind} {finding.digest}: {finding.detail}")
        found += len(stats.findings)
    if found:
        print(f"fuzz: {found} finding(s) saved under {args.findings}/")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
