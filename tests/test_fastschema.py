"""The compiled fast path may call a valid card invalid, never an invalid card valid."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

from zoocards import check, fastschema, load, synthetic

ROOT = Path(__file__).resolve().parent.parent

# Values a mutation puts in place of a valid one; each breaks some keyword somewhere.
REPLACEMENTS: list[Any] = [None, "", "x" * 3000, "Not A Model!", -1, 0, 1, 1.5, 1.0, True, False, [], {}, [1], {"zh": "x"}, 10**9, "fp32", 3]


def _cards() -> list[load.Card]:
    real = [load.load_file(path) for path in load.card_paths(ROOT / "cards")]
    fake = [load.load_text(synthetic.card_text(index, seed=3), Path(f"{synthetic.family_id(index)}.yaml")) for index in range(3)]
    return real + fake


def _locations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _locations(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _locations(item, path + (index,))
    return found


def _mutate(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    data = copy.deepcopy(data)
    path = rng.choice(_locations(data)[1:])
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = rng.random()
    if action < 0.2 and isinstance(parent, dict):
        del parent[last]  # a required key may go missing
    elif action < 0.3 and isinstance(parent, dict):
        parent["unknown_" + str(last)] = 1  # additionalProperties: false
    elif action < 0.4 and isinstance(parent[last], list) and parent[last]:
        parent[last] = parent[last] * 600  # maxItems
    else:
        parent[last] = copy.deepcopy(rng.choice(REPLACEMENTS))
    return data


def test_every_valid_card_takes_the_fast_path() -> None:
    fast = fastschema.compile_schema(check.schema())
    for card in _cards():
        assert fast(card.data), card.path


@pytest.mark.parametrize("seed", range(8))
def test_fast_path_never_accepts_what_jsonschema_rejects(seed: int) -> None:
    fast = fastschema.compile_schema(check.schema())
    validator = check._validator()
    rng = random.Random(seed)
    cards = _cards()
    for _ in range(300):
        data = _mutate(rng.choice(cards).data, rng)
        if fast(data):
            assert not list(validator.iter_errors(data)), data


def test_unknown_keywords_fall_back_to_jsonschema() -> None:
    # A keyword the compiler does not implement must never be treated as satisfied.
    assert fastschema.compile_schema({"type": "string", "format": "email"})("x") is False
    assert fastschema.compile_schema({"enum": [1, "a"]})(1) is False
    # bool is an int in Python, not in JSON Schema.
    assert fastschema.compile_schema({"type": "integer"})(True) is False
    assert fastschema.compile_schema({"const": 1})(True) is False
