"""What fastavro lets through, checked before the codec writes a record.

fastavro's writer writes what it can: an ``int`` beyond 32 bits (a reader gets a number
no Java partner can hold), 1.5 as 1, ``True`` as 1, ``"no"`` as true, a naive datetime as
if it were UTC (eight hours off for a Chinese local time), any string into a uuid field,
a string into an array of strings (one element per character). Three tools:

- ``compile_gate(schema)`` builds, once per schema, a function that checks only those
  fields and says yes (returning the record to write) or no (raising ``Refused``). It
  also wraps optional records in fastavro's ``(name, value)`` union notation, which
  spares fastavro a full validation of the nested record to choose the union branch
  (a third of the encode time of a PersonAlert).
- ``compile_uuid_check(schema)`` checks the uuid fields of a decoded record.
- ``explain(schema, record)`` walks everything, slowly, and names every field path and
  the rule broken; it runs only after a refusal, to build ``ValidationFailed``.

Values are named in messages only where they are codes, numbers or ids, never names or
free text, because messages end up in logs and DLQ headers.

Why one module over 400 lines: the slow explanation judges each leaf value with the
fast gate's own checks (``_fits`` over ``_timestamp``, ``_uuid``, ``_number``…), so the two
can never disagree on what passes; apart, those checks would be public names of one
module used only by the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from schemas.errors import Issue

#: A check returns the value to write (the same object when nothing changes).
Check = Callable[[Any], Any]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NAMED = ("record", "error", "enum", "fixed")
_MISSING = object()


class Refused(Exception):
    """Internal: the gate met a value fastavro must not write; ``explain`` says why."""


def named_types(schema: Any) -> dict[str, dict[str, Any]]:
    """Every named type defined in a parsed schema, by full name."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in _NAMED:
                found[node["name"]] = node
            if kind in ("record", "error"):
                for field in node["fields"]:
                    walk(field["type"])
            elif kind == "array":
                walk(node["items"])
            elif kind == "map":
                walk(node["values"])

    walk(schema)
    return found


def resolve(node: Any, named: dict[str, dict[str, Any]]) -> Any:
    """The definition of a named-type reference; any other node as it is."""
    if isinstance(node, str) and node in named:
        return named[node]
    return node


def kind_of(node: Any) -> tuple[str, str | None]:
    """(type, logicalType) of a resolved schema node."""
    if isinstance(node, str):
        return node, None
    if isinstance(node, list):
        return "union", None
    return node["type"], node.get("logicalType")


# ---- the fast gate ---------------------------------------------------------------------


def _int32(value: Any) -> Any:
    if type(value) is int and INT_MIN <= value <= INT_MAX:
        return value
    raise Refused


def _int64(value: Any) -> Any:
    if type(value) is int and LONG_MIN <= value <= LONG_MAX:
        return value
    raise Refused


def _number(value: Any) -> Any:
    if type(value) is float or type(value) is int:
        return value
    raise Refused


def _boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    raise Refused


def _timestamp(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    raise Refused


def _date(value: Any) -> Any:
    if type(value) is date:
        return value
    raise Refused


def _uuid(value: Any, _match: Callable[[str], Any] = UUID_PATTERN.fullmatch) -> Any:
    if type(value) is str and _match(value):
        return value
    raise Refused


def _record(fields: tuple[tuple[str, Check], ...]) -> Check:
    def check(record: Any) -> Any:
        if not isinstance(record, dict):
            raise Refused
        out = record
        for name, check_field in fields:
            old = record.get(name, _MISSING)
            if old is _MISSING:
                continue  # fastavro fills the default, or refuses a required field
            new = check_field(old)
            if new is not old:
                if out is record:
                    out = dict(record)
                out[name] = new
        return out

    return check


def _optional(inner: Check | None, record_name: str | None) -> Check | None:
    if record_name is not None:
        if inner is None:
            return lambda value: value if value is None else (record_name, value)
        return lambda value: value if value is None else (record_name, inner(value))
    if inner is None:
        return None
    return lambda value: value if value is None else inner(value)


def _sequence(items: Check | None, *, check_type: bool) -> Check | None:
    if items is None:
        if not check_type:
            return None

        def check_list(value: Any) -> Any:
            if isinstance(value, list | tuple):
                return value
            raise Refused

        return check_list

    def check_items(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise Refused
        out = None
        for index, item in enumerate(value):
            new = items(item)
            if new is not item:
                if out is None:
                    out = list(value)
                out[index] = new
        return value if out is None else out

    return check_items


def _mapping(values: Check | None, *, check_type: bool) -> Check | None:
    if values is None and not check_type:
        return None

    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise Refused
        if values is None:
            return value
        return {key: values(item) for key, item in value.items()}

    return check


class _GateCompiler:
    """Builds a check for one schema; ``uuids_only`` builds the decode-side uuid check."""

    def __init__(self, schema: Any, *, uuids_only: bool) -> None:
        self._named = named_types(schema)
        self._uuids_only = uuids_only
        self._building: set[str] = set()

    def build(self, node: Any) -> Check | None:
        if isinstance(node, str) and node in self._named:
            if node in self._building:
                return None  # a recursive type: checked down to the recursion only
            self._building.add(node)
            try:
                return self.build(self._named[node])
            finally:
                self._building.discard(node)
        kind, logical = kind_of(node)
        if kind in ("record", "error"):
            fields = tuple(
                (field["name"], check)
                for field in node["fields"]
                if (check := self.build(field["type"])) is not None
            )
            return _record(fields) if fields else None
        if kind == "union":
            return self._union(node)
        if kind == "array":
            return _sequence(self.build(node["items"]), check_type=not self._uuids_only)
        if kind == "map":
            return _mapping(self.build(node["values"]), check_type=not self._uuids_only)
        if logical == "uuid" and kind == "string":
            return _uuid
        if self._uuids_only:
            return _DECODE_CHECKS.get((kind, logical))
        return _LEAF_CHECKS.get((kind, logical)) or _LEAF_CHECKS.get((kind, None))

    def _union(self, branches: list[Any]) -> Check | None:
        others = [b for b in branches if b != "null"]
        if len(branches) != 2 or len(others) != 1:
            return None  # a general union: fastavro chooses the branch and checks it
        inner = self.build(others[0])
        resolved = resolve(others[0], self._named)
        is_record = kind_of(resolved)[0] in ("record", "error")
        wrap = resolved["name"] if is_record and not self._uuids_only else None
        return _optional(inner, wrap)


_LEAF_CHECKS: dict[tuple[str, str | None], Check] = {
    ("int", None): _int32,
    ("int", "date"): _date,
    ("long", None): _int64,
    ("long", "timestamp-millis"): _timestamp,
    ("float", None): _number,
    ("double", None): _number,
    ("boolean", None): _boolean,
}


#: What a decoded record is checked for besides uuids: Avro's zig-zag varints carry any
#: size, and fastavro reads an ``int`` of 64 bits (or more) without complaint; a Java
#: partner could not hold it, and it would not encode again.
_DECODE_CHECKS: dict[tuple[str, str | None], Check] = {
    ("int", None): _int32,
    ("long", None): _int64,
}


def compile_gate(schema: Any) -> Check:
    """The encode-side gate of a parsed schema: returns the record to write, or Refused."""
    return _GateCompiler(schema, uuids_only=False).build(schema) or (lambda record: record)


def compile_uuid_check(schema: Any) -> Check | None:
    """The decode-side check: every uuid field holds a canonical uuid and every ``int`` /
    ``long`` fits its Avro size (None: nothing to check)."""
    return _GateCompiler(schema, uuids_only=True).build(schema)


# ---- the slow explanation --------------------------------------------------------------


def explain(schema: Any, record: Any) -> list[Issue]:
    """Every issue of ``record`` against ``schema``, each with its field path and rule."""
    issues: list[Issue] = []
    _Explainer(named_types(schema), issues).visit(schema, record, "")
    return issues


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return "datetime" if value.tzinfo else "naive datetime"
    return type(value).__name__


class _Explainer:
    def __init__(self, named: dict[str, dict[str, Any]], issues: list[Issue]) -> None:
        self._named = named
        self._issues = issues

    def _add(self, path: str, rule: str) -> None:
        self._issues.append(Issue(path, rule))

    def visit(self, node: Any, value: Any, path: str) -> None:
        node = resolve(node, self._named)
        kind, logical = kind_of(node)
        if value is None and kind not in ("union", "null"):
            self._add(path, "is required but null")
        elif kind == "union":
            self._union(node, value, path)
        elif kind in ("record", "error"):
            self._record(node, value, path)
        elif kind == "enum":
            if value not in node["symbols"]:
                self._add(path, f"must be one of {', '.join(node['symbols'])}")
        elif kind in ("array", "map"):
            self._container(node, value, path)
        else:
            rule = _leaf_rule(kind, logical, value)
            if rule is not None:
                self._add(path, rule)

    def _record(self, node: dict[str, Any], value: Any, path: str) -> None:
        name = node["name"].rpartition(".")[2]
        if not isinstance(value, dict):
            self._add(path, f"must be a {name} record (a dict), got {_type_name(value)}")
            return
        known = set()
        for field in node["fields"]:
            known.add(field["name"])
            field_path = f"{path}.{field['name']}" if path else field["name"]
            if field["name"] in value:
                self.visit(field["type"], value[field["name"]], field_path)
            elif "default" not in field:
                self._add(field_path, "is required but missing")
        for extra in sorted(set(value) - known, key=str):
            extra_path = f"{path}.{extra}" if path else str(extra)
            self._add(extra_path, f"is not a field of {name}")

    def _union(self, branches: list[Any], value: Any, path: str) -> None:
        if value is None and "null" in branches:
            return
        others = [b for b in branches if b != "null"]
        if len(others) == 1:
            if value is None:
                self._add(path, "is required but null")
            else:
                self.visit(others[0], value, path)
            return
        for branch in others:
            trial = _Explainer(self._named, [])
            trial.visit(branch, value, path)
            if not trial._issues:
                return
        self._add(path, f"a {_type_name(value)} matches none of the types of this field")

    def _container(self, node: dict[str, Any], value: Any, path: str) -> None:
        if node["type"] == "array":
            if not isinstance(value, list | tuple):
                self._add(path, f"must be a list, got {_type_name(value)}")
                return
            for index, item in enumerate(value):
                self.visit(node["items"], item, f"{path}[{index}]")
        else:
            if not isinstance(value, dict):
                self._add(path, f"must be a map (a dict), got {_type_name(value)}")
                return
            for key, item in value.items():
                self.visit(node["values"], item, f"{path}.{key}")


def _leaf_rule(kind: str, logical: str | None, value: Any) -> str | None:
    """The rule a primitive value breaks, or None when it fits."""
    if (kind, logical) == ("long", "timestamp-millis"):
        if isinstance(value, datetime) and value.tzinfo is None:
            return "must be a timezone-aware datetime (UTC); this one has no offset"
        return None if _fits(_timestamp, value) else _expected("a datetime", value)
    if (kind, logical) == ("int", "date"):
        return None if _fits(_date, value) else _expected("a date", value)
    if (kind, logical) == ("string", "uuid"):
        if _fits(_uuid, value):
            return None
        if isinstance(value, str):
            return "is not a uuid in canonical lower-case form (8-4-4-4-12 hex)"
        return _expected("a uuid string", value)
    if kind in ("int", "long"):
        low, high = (INT_MIN, INT_MAX) if kind == "int" else (LONG_MIN, LONG_MAX)
        if type(value) is not int:
            return _expected("a whole number", value)
        if not low <= value <= high:
            bits = 32 if kind == "int" else 64
            return f"is outside the {bits}-bit {kind} range {low} to {high}"
        return None
    if kind == "string" and isinstance(value, str) and not _is_utf8(value):
        return "is not valid text: it holds an unpaired surrogate, which UTF-8 cannot carry"
    expected = _PRIMITIVE_RULES.get(kind)
    if expected is None:
        return None  # fixed and unknown logical types: left to fastavro
    description, fits = expected
    return None if fits(value) else _expected(description, value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_bytes(value: Any) -> bool:
    return isinstance(value, bytes)


def _is_null(value: Any) -> bool:
    return value is None


def _is_number(value: Any) -> bool:
    return _fits(_number, value)


def _is_boolean(value: Any) -> bool:
    return type(value) is bool


#: Primitive type -> (what it must be, in words; the test).
_PRIMITIVE_RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "null": ("null", _is_null),
    "boolean": ("true or false", _is_boolean),
    "float": ("a number", _is_number),
    "double": ("a number", _is_number),
    "string": ("text (str)", _is_text),
    "bytes": ("bytes", _is_bytes),
}


def _fits(check: Check, value: Any) -> bool:
    try:
        check(value)
    except Refused:
        return False
    return True


def _expected(description: str, value: Any) -> str:
    return f"must be {description}, got {_type_name(value)}"
