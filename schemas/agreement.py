"""The interop agreement (``deploy/agencies.toml``): agencies, provinces, topics, deadlines.

Loaded once by the entry point and passed down; validated on load, with errors that name
the line of the agreement where the bad entry starts.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from schemas.errors import ConfigError
from schemas.package_files import package_file
from schemas.province import MetricsPorts, Province, ProvinceKey, ProvinceKeyField, StrictModel

#: The agreement shipped in the package; HX_AGREEMENT points elsewhere in production.
#: ``schemas/agencies.toml`` is a symlink to ``deploy/agencies.toml``, which stays the one
#: file people edit: the design brief and the operators name it, ``hxbus keys`` rewrites it
#: in place, and its history stays on one path. The wheel build copies the symlink's
#: content into the package (package-data ``*.toml``), so an installed hxbus has it too.
DEFAULT_AGREEMENT_PATH = package_file("schemas", "agencies.toml")

AgencyId = Annotated[str, Field(pattern=r"^\d{6}000000$", description="GB/T 2260 code + 000000")]
Priority = Literal["IMMEDIATE", "URGENT", "ROUTINE"]

BROADCAST_TOPICS: dict[str, str] = {"PERSON": "hx.alerts.person", "VEHICLE": "hx.alerts.vehicle"}
AUDIT_TOPIC = "hx.audit"


#: The directed-traffic topics' common prefix: ``hx.inbox.<agency id>``.
INBOX_PREFIX = "hx.inbox."


def inbox_topic(agency_id: str) -> str:
    """The directed-traffic topic of one agency."""
    return f"{INBOX_PREFIX}{agency_id}"


def inbox_owner(topic: str) -> str | None:
    """The agency of an inbox topic (``hx.inbox.<agency>``), None for other topics."""
    return topic[len(INBOX_PREFIX) :] if topic.startswith(INBOX_PREFIX) else None


def bridge_principal(province_key: str) -> str:
    """The name of a province's bridge: its SCRAM login and the ``ce_source`` of its
    signed audit records (``bridge-js`` for ``JS``)."""
    return f"bridge-{province_key.lower()}"


def dlq_topic(group: str) -> str:
    """Where the consumer group ``group`` puts what it could not handle."""
    return f"hx.dlq.{group}"


class Agency(StrictModel):
    """One bureau: its organ code, city, province, plate prefix and signing keys."""

    id: AgencyId
    city: str
    city_zh: str
    province: ProvinceKeyField
    admin_code: Annotated[str, Field(pattern=r"^\d{6}$")]
    plate_prefix: Annotated[str, Field(min_length=2, max_length=2)]
    #: Ed25519 public keys (base64, raw 32 bytes). Two during a key changeover.
    public_keys: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _id_matches_admin_code(self) -> Agency:
        if not self.id.startswith(self.admin_code):
            raise ValueError(f"id {self.id} does not start with admin_code {self.admin_code}")
        return self


class Topic(StrictModel):
    """A topic template; ``{agency}`` in the name expands to one topic per agency."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9.{}_-]+$")]
    partitions: Annotated[int, Field(ge=1, le=1000)]
    retention_ms: Annotated[int, Field(ge=-1)]
    cleanup_policy: Literal["delete", "compact", "compact,delete"] = "delete"
    replication: Annotated[int, Field(ge=1, le=5)] | None = None
    description: str = ""


class Exchange(StrictModel):
    name: str
    replication: Annotated[int, Field(ge=1, le=5)] = 3
    min_insync_replicas: Annotated[int, Field(ge=1, le=5)] = 2


class Agreement(StrictModel):
    """The whole agreement. Look-ups are dictionaries built once."""

    exchange: Exchange
    deadlines: dict[Priority, Annotated[int, Field(gt=0)]]
    provinces: dict[ProvinceKeyField, Province]
    agencies: tuple[Agency, ...]
    topics: tuple[Topic, ...]
    metrics_ports: MetricsPorts = MetricsPorts()

    @model_validator(mode="after")
    def _consistent(self) -> Agreement:
        for key, spec in self.provinces.items():
            if spec.key != key:
                raise ValueError(f"provinces.{key}.key: is {spec.key}, must be {key}")
        for field in ("name", "gb_code", "plate_character"):
            _unique(f"provinces.*.{field}", [getattr(p, field) for p in self.provinces.values()])
        ports = [p.metrics_port for p in self.provinces.values() if p.metrics_port is not None]
        _unique("metrics ports", [*self.metrics_ports.model_dump().values(), *ports])
        ids = [a.id for a in self.agencies]
        if len(set(ids)) != len(ids):
            raise ValueError("agency ids are not unique")
        for agency in self.agencies:
            province = self.provinces.get(agency.province)
            if province is None:
                raise ValueError(f"agency {agency.id}: unknown province {agency.province!r}")
            if agency.plate_prefix[0] != province.plate_character:
                raise ValueError(
                    f"agency {agency.id}: plate prefix {agency.plate_prefix} does not start "
                    f"with {province.plate_character}"
                )
            if not agency.admin_code.startswith(province.gb_code):
                raise ValueError(f"agency {agency.id}: admin code outside province")
        missing = {"IMMEDIATE", "URGENT", "ROUTINE"} - set(self.deadlines)
        if missing:
            raise ValueError(f"deadlines: missing {sorted(missing)}")
        return self

    @cached_property
    def by_id(self) -> dict[str, Agency]:
        return {a.id: a for a in self.agencies}

    @cached_property
    def by_plate_prefix(self) -> dict[str, Agency]:
        return {a.plate_prefix: a for a in self.agencies}

    def agency(self, agency_id: str) -> Agency:
        """The agency with this id; ConfigError naming it when the agreement lacks it."""
        try:
            return self.by_id[agency_id]
        except KeyError:
            raise ConfigError(f"agency {agency_id} is not in the agreement") from None

    def province_of(self, agency_id: str) -> Province:
        return self.provinces[self.agency(agency_id).province]

    def agencies_of(self, province: str) -> tuple[Agency, ...]:
        """Agencies of the province with key ``province`` (``JS``)."""
        key = self.province_key(province)
        return tuple(a for a in self.agencies if a.province == key)

    def province_key(self, value: str, field: str = "province") -> ProvinceKey:
        """``value`` as the key of a province of the agreement; ConfigError naming
        ``field`` and the rule otherwise (a name or profile given instead is named)."""
        if value in self.provinces:
            return ProvinceKey(value)
        keys = ", ".join(sorted(self.provinces))
        meant = [
            key
            for key, p in self.provinces.items()
            if value.lower() in (p.name.lower(), p.profile.lower(), key.lower())
        ]
        hint = f" ({value!r} is province {meant[0]}: give its key)" if meant else ""
        raise ConfigError(
            f"{field}: {value!r} is not a province key of the agreement; a key is the "
            f"two capital letters of a [provinces.XX] table, one of {keys}{hint}"
        )

    def province(self, key: str, field: str = "province") -> Province:
        """The province with key ``key``; ConfigError naming ``field`` otherwise."""
        return self.provinces[self.province_key(key, field)]

    def provinces_with_profile(self, profile: str) -> tuple[ProvinceKey, ...]:
        """The keys of the provinces whose bridge translates with ``profile``."""
        return tuple(p.key for p in self.provinces.values() if p.profile == profile)

    @cached_property
    def personal_data_keys(self) -> frozenset[str]:
        """Every province's local keys that hold personal data (``runtime.logging``)."""
        return frozenset(k for p in self.provinces.values() for k in p.personal_data_keys)

    def topic_names(self) -> list[str]:
        """Every concrete topic the agreement implies, templates expanded."""
        return [name for topic in self.topics for name in self.expand(topic)]

    def expand(self, topic: Topic) -> list[str]:
        if "{agency}" in topic.name:
            return [topic.name.replace("{agency}", a.id) for a in self.agencies]
        return [topic.name]

    def deadline_seconds(self, priority: str) -> int:
        return self.deadlines[priority]  # type: ignore[index]


def _unique(what: str, values: list[object]) -> None:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what}: each must be unique, {', '.join(repeated)} repeated")


def _line_of_entry(text: str, table: str, index: int) -> int | None:
    """Line number (1-based) of the ``index``-th ``[[table]]`` header, if it exists."""
    headers = [m.start() for m in re.finditer(rf"^\[\[{re.escape(table)}\]\]", text, re.M)]
    if index < len(headers):
        return text.count("\n", 0, headers[index]) + 1
    return None


def parse_agreement(text: str, origin: str = "<agreement>") -> Agreement:
    """Parse and validate agreement TOML text; ConfigError names the line where it can."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: {exc}") from exc
    for key, province in raw.get("provinces", {}).items():
        if isinstance(province, dict):
            province.setdefault("key", key)
    try:
        return Agreement.model_validate(raw)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = err["loc"]
            where = origin
            if len(loc) >= 2 and loc[0] in ("agencies", "topics") and isinstance(loc[1], int):
                line = _line_of_entry(text, str(loc[0]), loc[1])
                if line is not None:
                    where = f"{origin}:{line}"
            path = ".".join(str(p) for p in loc)
            messages.append(f"{where}: {path}: {err['msg']}")
        raise ConfigError("\n".join(messages)) from exc


def load_agreement(path: Path | str | None = None) -> Agreement:
    """Read the agreement file (default: the packaged copy of ``deploy/agencies.toml``)."""
    file = Path(path) if path else DEFAULT_AGREEMENT_PATH
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read agreement {file}: {exc.strerror}") from exc
    return parse_agreement(text, origin=str(file))
