"""Results as plain data for session files: JSON structure plus numeric numpy arrays, never pickle.

:func:`encode` turns a result (the engine's dataclasses, dicts, lists, tuples, numbers, strings and
numpy arrays, nested) into a JSON-able document and a dict of arrays; :func:`decode` rebuilds it and
is the schema check: only the dataclass types it is given are built, each from exactly its own
fields (through its constructor, so its own validation runs), arrays must be numeric and listed,
and nesting, strings and lists have limits. Anything else raises :class:`SessionFormatError`
naming where in the document it is, so a file from elsewhere cannot run code or exhaust memory.

Tagged nodes: ``{"$array": name}``, ``{"$tuple": [...]}``, ``{"$map": [[key, value], ...]}`` (a dict
whose keys are not all strings), ``{"$type": name, "fields": {...}}`` (a dataclass).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import SessionFormatError

MAX_DEPTH = 32
MAX_ITEMS = 1_000_000  # items of one list, tuple or map
MAX_TEXT = 100_000  # characters of one string
#: Array kinds a result may hold: booleans, integers, floats and complex numbers (no objects, no strings).
ARRAY_KINDS = "biufc"
TAGS = ("$array", "$tuple", "$map", "$type")


def encode(value: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """``value`` as a JSON-able document; its arrays go into ``arrays`` under names starting with ``prefix``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$type": type(value).__name__,
                "fields": {f.name: encode(getattr(value, f.name), arrays, prefix) for f in dataclasses.fields(value)}}
    if isinstance(value, np.ndarray):
        name = f"{prefix}{len(arrays)}"
        arrays[name] = value
        return {"$array": name}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, arrays, prefix) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays, prefix) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v, arrays, prefix) for k, v in value.items()}
        return {"$map": [[encode(k, arrays, prefix), encode(v, arrays, prefix)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a session")


def decode(doc: Any, arrays: dict[str, np.ndarray], types: Iterable[type], where: str = "") -> Any:
    """Rebuild what :func:`encode` wrote, building only dataclasses of ``types``; SessionFormatError if
    ``doc`` does not follow the format (the message says where)."""
    return _Decoder(arrays, {t.__name__: t for t in types}).value(doc, where or "document", 0)


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], types: dict[str, type]):
        self.arrays, self.types = arrays, types

    def value(self, doc: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise SessionFormatError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        if doc is None or isinstance(doc, (bool, int, float)):
            return doc
        if isinstance(doc, str):
            if len(doc) > MAX_TEXT:
                raise SessionFormatError(f"{where}: a text of {len(doc)} characters (at most {MAX_TEXT})")
            return doc
        if isinstance(doc, list):
            return [self.value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(self._items(doc, where))]
        if not isinstance(doc, dict):
            raise SessionFormatError(f"{where}: a {type(doc).__name__} is not plain data")
        tags = [key for key in doc if key in TAGS]
        if not tags:
            if any(not isinstance(k, str) or k.startswith("$") for k in doc):
                raise SessionFormatError(f"{where}: unknown tag among {sorted(map(str, doc))}")
            return {k: self.value(v, f"{where}.{k}", depth + 1) for k, v in doc.items()}
        return getattr(self, "_" + tags[0][1:])(doc, where, depth)

    def _items(self, items: Any, where: str) -> list:
        if not isinstance(items, list):
            raise SessionFormatError(f"{where}: expected a list, got {type(items).__name__}")
        if len(items) > MAX_ITEMS:
            raise SessionFormatError(f"{where}: {len(items)} items (at most {MAX_ITEMS})")
        return items

    def _only(self, doc: dict, keys: set[str], where: str) -> None:
        if set(doc) != keys:
            raise SessionFormatError(f"{where}: expected the keys {sorted(keys)}, got {sorted(map(str, doc))}")

    def _array(self, doc: dict, where: str, depth: int) -> np.ndarray:
        self._only(doc, {"$array"}, where)
        name = doc["$array"]
        if not isinstance(name, str) or name not in self.arrays:
            raise SessionFormatError(f"{where}: refers to an array {name!r} the file does not hold")
        array = self.arrays[name]
        if array.dtype.kind not in ARRAY_KINDS:
            raise SessionFormatError(f"{where}: an array of {array.dtype} (numbers only)")
        return array

    def _tuple(self, doc: dict, where: str, depth: int) -> tuple:
        self._only(doc, {"$tuple"}, where)
        return tuple(self.value(v, f"{where}[{i}]", depth + 1)
                     for i, v in enumerate(self._items(doc["$tuple"], where)))

    def _map(self, doc: dict, where: str, depth: int) -> dict:
        self._only(doc, {"$map"}, where)
        out = {}
        for i, pair in enumerate(self._items(doc["$map"], where)):
            if not isinstance(pair, list) or len(pair) != 2:
                raise SessionFormatError(f"{where}[{i}]: expected a [key, value] pair")
            key = self.value(pair[0], f"{where}[{i}].key", depth + 1)
            if isinstance(key, (list, dict, np.ndarray)):
                raise SessionFormatError(f"{where}[{i}].key: a key must be a number, text or tuple")
            out[key] = self.value(pair[1], f"{where}[{key!r}]", depth + 1)
        return out

    def _type(self, doc: dict, where: str, depth: int) -> Any:
        self._only(doc, {"$type", "fields"}, where)
        name, fields = doc["$type"], doc["fields"]
        cls = self.types.get(name) if isinstance(name, str) else None
        if cls is None:
            raise SessionFormatError(f"{where}: {name!r} is not a result type a session holds "
                                     f"({', '.join(sorted(self.types))})")
        if not isinstance(fields, dict):
            raise SessionFormatError(f"{where}: the fields of {name} must be a mapping")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(fields) - set(known)
        missing = {n for n, f in known.items() if n not in fields and f.init
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        if unknown or missing:
            raise SessionFormatError(f"{where}: {name} " + "; ".join(
                part for part in (f"unknown fields {sorted(unknown)}" if unknown else "",
                                  f"missing fields {sorted(missing)}" if missing else "") if part))
        values = {k: self.value(v, f"{where}.{k}", depth + 1) for k, v in fields.items()}
        try:
            obj = cls(**{k: v for k, v in values.items() if known[k].init})
        except (TypeError, ValueError) as err:  # the type's own validation (ParameterError is a ValueError)
            raise SessionFormatError(f"{where}: not a valid {name}: {err}") from None
        for k, v in values.items():
            if not known[k].init:
                object.__setattr__(obj, k, v)
        return obj
