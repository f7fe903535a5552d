"""What a schema error means, in words a contributor can act on: the key path, what was
expected, what was received and how to fix it. Shared by cards (check.py) and upstream sources
(sources.py); jsonschema runs only to explain data the compiled check refused."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any, Iterator

from zoocards.load import KeyPath

if TYPE_CHECKING:
    import jsonschema

def _subschema(path: KeyPath, root: dict[str, Any]) -> dict[str, Any]:
    """The node of a schema that describes the value at `path` (for suggestions)."""
    node = root
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part, {})
    return node


def show(value: Any) -> str:
    """A value as a message quotes it: short strings in quotes, containers by kind."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return json.dumps(value)


_TYPE_WORDS = {"object": "a mapping of keys", "array": "a list", "string": "text", "number": "a number",
               "integer": "a whole number", "null": "null", "boolean": "true or false"}


def _type_words(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)


def explain_schema(data: Any, validator: "jsonschema.protocols.Validator", root: dict[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    """Every schema error of `data`, as (key path, message saying what was expected and how to fix it);
    shared by cards and upstream sources."""
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    for error in errors:
        path: KeyPath = tuple(error.absolute_path)
        kind = error.validator
        if kind == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed)):
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
                yield path + (key,), f"unknown key '{key}'; {hint}"
        elif kind == "required":
            missing = [k for k in error.validator_value if k not in error.instance]
            for key in missing:
                example = _subschema(path + (key,), root).get("examples", [None])[0]
                how = f" (for example: {key}: {json.dumps(example, ensure_ascii=False)})" if example is not None and not isinstance(example, dict) else ""
                yield path, f"missing required key '{key}'{how}"
        elif kind == "type":
            got = error.instance
            hint = ""
            if isinstance(got, str) and error.validator_value in ("number", "integer", ["number", "null"]):
                try:
                    float(got)
                    hint = "; remove the quotes"
                except ValueError:
                    hint = "; write the figure as a plain number, or null when there is none"
            yield path, f"expected {_type_words(error.validator_value)}, got {show(got)}{hint}"
        elif kind == "enum":
            options = [str(o) for o in error.validator_value]
            close = difflib.get_close_matches(str(error.instance), options, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            yield path, f"{show(error.instance)} is not one of: {', '.join(options)}{hint}"
        elif kind == "const":
            yield path, f"{show(error.instance)} is not supported; write {json.dumps(error.validator_value)}"
        elif kind == "pattern":
            what = _subschema(path, root).get("description", "") or (error.schema.get("description", ""))
            yield path, f"{show(error.instance)} is not in the expected form. {what}".strip()
        elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            word = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "above", "exclusiveMaximum": "below"}[kind]
            yield path, f"{show(error.instance)} is out of range; it must be {word} {error.validator_value}"
        elif kind in ("minLength", "minItems", "minProperties"):
            yield path, "is empty; give at least one " + ("character" if kind == "minLength" else "item")
        elif kind in ("maxLength", "maxItems"):
            yield path, f"is too long (at most {error.validator_value} {'characters' if kind == 'maxLength' else 'items'})"
        else:
            yield path, error.message
