"""Deterministic sample records of any schema, for the evolution guard.

Schema resolution in Avro depends on the data as well as on the schemas: an enum symbol
the reader lacks fails only when it is written, a union branch only when it is taken.
So the samples cover every enum symbol at every place an enum occurs, every branch of
every union, and both the emptiest record (optional values null, arrays empty) and the
fullest one (every optional value set, every array with an element).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from schemas.record_check import kind_of, named_types, resolve

_SAMPLE_TIME = datetime(2024, 5, 1, 8, 30, 15, 123000, tzinfo=UTC)
_SAMPLE_DATE = date(1985, 3, 1)
_SAMPLE_UUID = str(uuid.UUID("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"))
#: How often a recursive named type is entered before the sample stops going deeper.
_MAX_DEPTH = 2

_LEAVES: dict[tuple[str, str | None], Any] = {
    ("null", None): None,
    ("boolean", None): True,
    ("int", None): 1,
    ("int", "date"): _SAMPLE_DATE,
    ("long", None): 1,
    ("long", "timestamp-millis"): _SAMPLE_TIME,
    ("float", None): 0.5,
    ("double", None): 0.5,
    ("string", None): "sample",
    ("string", "uuid"): _SAMPLE_UUID,
    ("bytes", None): b"\x00",
}


@dataclass
class _Sampler:
    named: dict[str, dict[str, Any]]
    #: True: optional values null and arrays empty; False: everything set.
    sparse: bool = False
    #: Forced choices: enum symbol or union branch index, by path.
    pick: dict[str, Any] = field(default_factory=dict)
    #: Every (path, choices) met: enum symbols, or union branch indexes.
    choices: list[tuple[str, list[Any]]] = field(default_factory=list)
    depth: dict[str, int] = field(default_factory=dict)

    def value(self, node: Any, path: str) -> Any:
        name = node if isinstance(node, str) and node in self.named else None
        node = resolve(node, self.named)
        kind, logical = kind_of(node)
        if kind == "union":
            return self._union(node, path)
        if kind in ("record", "error", "enum", "fixed"):
            full = name or node["name"]
            if self.depth.get(full, 0) >= _MAX_DEPTH:
                return None
            self.depth[full] = self.depth.get(full, 0) + 1
            try:
                return self._named(node, kind, path)
            finally:
                self.depth[full] -= 1
        if kind == "array":
            return [] if self.sparse else [self.value(node["items"], f"{path}[]")]
        if kind == "map":
            return {} if self.sparse else {"key": self.value(node["values"], f"{path}{{}}")}
        return _LEAVES.get((kind, logical), _LEAVES.get((kind, None)))

    def _named(self, node: dict[str, Any], kind: str, path: str) -> Any:
        if kind == "enum":
            self.choices.append((path, list(node["symbols"])))
            return self.pick.get(path, node["symbols"][0])
        if kind == "fixed":
            return bytes(node["size"])
        return {
            f["name"]: self.value(f["type"], f"{path}.{f['name']}" if path else f["name"])
            for f in node["fields"]
        }

    def _union(self, branches: list[Any], path: str) -> Any:
        indexes = list(range(len(branches)))
        self.choices.append((f"{path}|", indexes))
        if f"{path}|" in self.pick:
            index = self.pick[f"{path}|"]
        elif self.sparse and "null" in branches:
            index = branches.index("null")
        else:
            index = next((i for i, b in enumerate(branches) if b != "null"), 0)
        return self.value(branches[index], path)


def sample_records(schema: Any) -> list[Any]:
    """Records valid under ``schema``: sparse, full, and one per enum symbol / union branch."""
    named = named_types(schema)
    full = _Sampler(named)
    samples = [_Sampler(named, sparse=True).value(schema, ""), full.value(schema, "")]
    for path, options in full.choices:
        for option in options[1:]:  # the first option is in the full record already
            samples.append(_Sampler(named, pick={path: option}).value(schema, ""))
    return samples
