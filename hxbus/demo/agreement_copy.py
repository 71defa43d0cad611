"""The demo's own copy of the agreement: every agency's and bridge's public key listed,
the answer deadlines' minutes read as seconds."""

from __future__ import annotations

from pathlib import Path

from runtime import Settings
from runtime.signing_keys import keyed_copy
from schemas import Agreement, load_agreement

#: The demo's agreement divides every answer deadline by this: minutes become seconds.
DEADLINE_SCALE = 60


def sign_as_every_agency(
    settings: Settings, agreement: Agreement, root: Path
) -> tuple[Settings, Agreement]:
    """Keys for every agency and bridge under ``<root>/.state``, public halves in a copy
    of the agreement (``<root>/agreement.toml``); the settings and agreement to run with."""
    settings, _ = keyed_copy(settings, agreement, root)
    scale_deadlines(settings.agreement, DEADLINE_SCALE)
    return settings, load_agreement(settings.agreement)


def scale_deadlines(agreement_file: Path, divisor: int) -> None:
    """Divide every ``[deadlines]`` value of an agreement file by ``divisor`` (at least 1 s)."""
    lines, section = [], ""
    for line in agreement_file.read_text(encoding="utf-8").splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif section == "[deadlines]" and "=" in stripped and not stripped.startswith("#"):
            name, _, value = stripped.partition("=")
            seconds = int(value.split("#")[0].strip())
            line = f"{name.strip()} = {max(1, seconds // divisor)}\n"
        lines.append(line)
    agreement_file.write_text("".join(lines), encoding="utf-8")
