"""The demo's own copy of the agreement: every agency's and bridge's public key listed,
the answer deadlines' minutes read as seconds."""

from __future__ import annotations

import shutil
from pathlib import Path

from runtime import Settings
from runtime.signing_keys import (
    add_province_public_key,
    add_public_key,
    generate_key,
    public_key_text,
)
from schemas import Agreement, bridge_principal

#: The demo's agreement divides every answer deadline by this: minutes become seconds.
DEADLINE_SCALE = 60


def sign_as_every_agency(
    settings: Settings, agreement: Agreement, root: Path
) -> tuple[Settings, Agreement]:
    """Keys for every agency and bridge under ``<root>/.state``, public halves in a copy
    of the agreement (``<root>/agreement.toml``); the settings and agreement to run with."""
    state = root / ".state"
    agreement_copy = root / "agreement.toml"
    shutil.copyfile(settings.agreement, agreement_copy)
    scale_deadlines(agreement_copy, DEADLINE_SCALE)
    for agency in agreement.agencies:
        public = generate_key(state, agency.id).public_key()
        agreement = add_public_key(agreement_copy, agency.id, public_key_text(public))
    for province in agreement.provinces:
        public = generate_key(state, bridge_principal(province)).public_key()
        agreement = add_province_public_key(agreement_copy, province, public_key_text(public))
    settings = settings.model_copy(update={"agreement": agreement_copy, "state_dir": state})
    return settings, agreement


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
