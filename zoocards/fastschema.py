"""A fast yes/no answer to "is this card valid against the schema?", compiled once.

jsonschema walks the schema for every value of every card (about 30 ms per card, most of
a 1000-family check). This module compiles the subset of JSON Schema the card schema uses
into plain Python closures that answer only True or False. It is a fast path, not a second
validator: `check.py` still asks jsonschema for the errors whenever this says False, so the
messages never change. The one rule that matters is one-sided: it may say False for a valid
card (jsonschema then finds nothing), but must never say True for an invalid one. So every
keyword it does not know, and every value shape it is unsure about, compiles to False.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

Check = Callable[[Any], bool]

# Keywords that only annotate (no effect on validity).
_ANNOTATIONS = {"$schema", "$id", "title", "description", "examples", "default", "$comment"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "integer": lambda v: type(v) is int or (type(v) is float and math.isfinite(v) and v.is_integer()),
    "number": lambda v: type(v) in (int, float),
}


def _never(value: Any) -> bool:
    return False


def compile_schema(schema: Any) -> Check:
    """A function telling whether a value (from the card loader: dict, list, str, int, float, bool, None) is valid."""
    if schema is True or schema == {}:
        return lambda value: True
    if not isinstance(schema, dict) or set(schema) - _ANNOTATIONS - _KEYWORDS.keys():
        return _never  # something this compiler does not understand: let jsonschema decide
    made = [_KEYWORDS[key](schema[key], schema) for key in schema if key in _KEYWORDS]
    return _all_of([c for c in made if c is not None])


# Plain loops and `and` chains, not all() over a generator: a card's check calls these ~500 000
# times at 1000 families, and a generator per call was a third of the check's time.
def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)
    if len(checks) == 3:
        first, second, third = checks
        return lambda value: first(value) and second(value) and third(value)

    def check(value: Any) -> bool:
        for each in checks:
            if not each(value):
                return False
        return True

    return check


def _type(expected: Any, schema: dict[str, Any]) -> Check:
    names = expected if isinstance(expected, list) else [expected]
    if not all(name in _TYPES for name in names):
        return _never
    tests = [_TYPES[name] for name in names]
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda value: first(value) or second(value)
    return lambda value: any(test(value) for test in tests)


def _enum(options: Any, schema: dict[str, Any]) -> Check:
    kinds = {type(o) for o in options}
    if len(kinds) != 1 or not kinds <= {str, int}:
        return _never  # 1 == True == 1.0 in Python: compare only values of one exact type
    kind = kinds.pop()
    allowed = frozenset(options)
    return lambda value: type(value) is kind and value in allowed


def _const(expected: Any, schema: dict[str, Any]) -> Check:
    if type(expected) not in (str, int):
        return _never
    kind = type(expected)
    return lambda value: type(value) is kind and value == expected


def _pattern(pattern: str, schema: dict[str, Any]) -> Check:
    search = re.compile(pattern).search
    return lambda value: type(value) is not str or search(value) is not None


def _bound(compare: Callable[[Any, Any], bool]) -> Callable[[Any, dict[str, Any]], Check]:
    def make(limit: Any, schema: dict[str, Any]) -> Check:
        return lambda value: type(value) not in (int, float) or compare(value, limit)
    return make


def _length(compare: Callable[[int, int], bool], kind: type[str] | type[list[Any]]) -> Callable[[Any, dict[str, Any]], Check]:
    def make(limit: int, schema: dict[str, Any]) -> Check:
        return lambda value: type(value) is not kind or compare(len(value), limit)
    return make


def _items(item_schema: Any, schema: dict[str, Any]) -> Check:
    check = compile_schema(item_schema)

    def each(value: Any) -> bool:
        if type(value) is list:
            for item in value:
                if not check(item):
                    return False
        return True

    return each


def _required(keys: list[str], schema: dict[str, Any]) -> Check:
    def check(value: Any) -> bool:
        if type(value) is dict:
            for key in keys:
                if key not in value:
                    return False
        return True

    return check


def _properties(properties: dict[str, Any], schema: dict[str, Any]) -> Check:
    checks = {key: compile_schema(sub) for key, sub in properties.items()}
    additional = schema.get("additionalProperties", True)
    extra = compile_schema(additional) if additional is not False else None

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return True
        for key, item in value.items():
            known = checks.get(key)
            if known is not None:
                if not known(item):
                    return False
            elif extra is None or not extra(item):
                return False
        return True

    return check


def _additional_properties(additional: Any, schema: dict[str, Any]) -> Check | None:
    if "properties" in schema:
        return None  # handled together with `properties`
    return _properties({}, schema)


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any]], Check | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minimum": _bound(lambda v, limit: v >= limit),
    "maximum": _bound(lambda v, limit: v <= limit),
    "exclusiveMinimum": _bound(lambda v, limit: v > limit),
    "exclusiveMaximum": _bound(lambda v, limit: v < limit),
    "minLength": _length(lambda n, limit: n >= limit, str),
    "maxLength": _length(lambda n, limit: n <= limit, str),
    "minItems": _length(lambda n, limit: n >= limit, list),
    "maxItems": _length(lambda n, limit: n <= limit, list),
    "items": _items,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
}
