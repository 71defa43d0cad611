"""A province of the agreement (``[provinces.XX]``): the typed spec every list of provinces
derives from, and the metrics ports of the roles that are not a province's bridge.

What a province is, in one place: its key (``JS``), names, GB/T 2260 code, plate
character and the authority letters it issues, the bridge profile that translates its
local format, the keys of that format that hold personal data, and its bridge's metrics
port. The demo, ``hxbus top``, the console, the plate rule, the log masking and the bridge
read them from here; deploy/prometheus/prometheus.yml, which cannot derive, is checked
against it by a test. CONTRIBUTING.md, "Add a province", is the recipe.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, NewType

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

#: A province key: two capital letters (``JS``), the ``[provinces.XX]`` table's name.
ProvinceKey = NewType("ProvinceKey", str)
PROVINCE_KEY_PATTERN = r"^[A-Z]{2}$"
#: A built-in profile's registry name (``jiangsu``), or ``module:Class`` for a profile
#: that lives outside hxbus (a new partner's, or a test's): see ``bridge.profiles``.
_PROFILE_NAME = re.compile(r"[a-z][a-z0-9_]*|[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def _profile_name(value: str) -> str:
    if _PROFILE_NAME.fullmatch(value) is None:
        raise ValueError(
            f"{value!r} names no profile: give a built-in profile's name (jiangsu) "
            "or module:Class of one outside hxbus"
        )
    return value


def _province_key(value: str) -> str:
    if re.fullmatch(PROVINCE_KEY_PATTERN, value) is None:
        raise ValueError(f"{value!r} is not a province key: two capital letters, such as JS")
    return value


def _plate_letters(value: str) -> str:
    if re.fullmatch(r"[A-HJ-NP-Z]*", value) is None:
        raise ValueError(
            f"{value!r}: authority letters are capital letters A–Z but I and O, as in ABC"
        )
    return value


#: A province key as the agreement's models check it. Plain ``str`` to the type checker
#: where it keys a dict (``dict`` is invariant: ``ProvinceKey`` keys would not mix with
#: ``str`` ones); ``Agreement.province_key`` returns the typed key.
ProvinceKeyField = Annotated[str, AfterValidator(_province_key)]

Port = Annotated[int, Field(ge=1, le=65535)]


class StrictModel(BaseModel):
    """A part of the agreement: unknown keys are refused, nothing changes after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _file_mode(value: object) -> int:
    """A permission mode from the agreement: an octal string ("0640") or an integer."""
    if isinstance(value, str):
        if re.fullmatch(r"0?[0-7]{3}", value) is None:
            raise ValueError(f'{value!r} is not an octal mode such as "0640"')
        value = int(value, 8)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0o777:
        raise ValueError('a mode is an octal string such as "0640"')
    if value & 0o007:
        # Delivered files hold personal data: never for every user of the host.
        raise ValueError(f"mode {value:04o} gives others access; at most 0770")
    return value


FileMode = Annotated[int, BeforeValidator(_file_mode)]


class Province(StrictModel):
    """One province of the agreement: who it is, how its bridge speaks, what it masks."""

    #: The table's name (``[provinces.JS]``): set by the loader, or equal to it if given.
    key: Annotated[ProvinceKey, AfterValidator(_province_key)]
    name: str
    name_zh: str
    gb_code: Annotated[str, Field(pattern=r"^\d{2}$")]
    #: The first character of its number plates (苏).
    plate_character: Annotated[str, Field(min_length=1, max_length=1)]
    #: The plate authority letters (发牌机关代号) it issues (GA, as of the agreement's
    #: date); a plate of this province with another letter is refused. Empty: any letter.
    #: Its agencies' plate prefixes count too.
    plate_letters: Annotated[str, AfterValidator(_plate_letters)] = ""
    #: The bridge profile that translates its local format (``bridge.profiles``). The
    #: agreement's older name for it, ``format``, is still read.
    profile: Annotated[str, AfterValidator(_profile_name)]
    #: Keys of its local format whose values are personal data (GA's ``XM``, ``GMSFHM``):
    #: masked in every log line, as the exchange's own (``runtime.logging``).
    personal_data_keys: tuple[str, ...] = ()
    #: The port its bridge serves /metrics and /healthz on (deploy/prometheus/prometheus.yml,
    #: ``hxbus top``, the demo).
    metrics_port: Port | None = None
    #: Ed25519 public keys (base64, raw 32 bytes) of the province's bridge, which signs
    #: its audit records. Two during a key changeover.
    public_keys: tuple[str, ...] = ()
    #: Mode of each file the directory sink delivers (owner and group read by default).
    inbox_file_mode: FileMode = 0o640
    #: Mode of the inbox folder itself.
    inbox_dir_mode: FileMode = 0o750

    @model_validator(mode="before")
    @classmethod
    def _older_names(cls, data: Any) -> Any:
        """``format`` is what ``profile`` was called before: read it, refuse both."""
        if isinstance(data, dict) and "format" in data:
            if "profile" in data:
                raise ValueError(
                    "format and profile both given: format is the old name of profile; "
                    "keep profile only"
                )
            data = {**data, "profile": data["format"]}
            del data["format"]
        return data


class MetricsPorts(StrictModel):
    """``[metrics_ports]``: where the roles that are not a province's bridge serve /metrics
    (each bridge's port is its province's ``metrics_port``)."""

    publisher: Port = 9400
    tracker: Port = 9401
    lookup: Port = 9402
