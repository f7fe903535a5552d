"""Property tests: whatever text a card holds, load + check answer with the project's own types.

A card either loads, checks clean and renders, or the contributor gets CardError / Problem
values; never a KeyError or TypeError from a rule that assumed the schema had passed.
Example counts are kept moderate so this file runs in well under a minute; `EXAMPLES`
records how many ran (printed at the end with `pytest -s`).
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL_CARD
from tests.hostile.cards import RICH_CARD, dump_card
from zoocards import render
from zoocards.check import check_cards
from zoocards.errors import CardError, Problem
from zoocards.load import Card, load_text

EXAMPLES: Counter[str] = Counter()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEEDS = {"mini": MINIMAL_CARD, "rich": RICH_CARD}
SEED_DATA = {name: load_text(text, Path(f"cards/{name}.yaml")).data for name, text in SEEDS.items()}


def outcome(text: str, name: str = "mini") -> str:
    """Run load + check (+ render when clean); return which of the allowed outcomes happened."""
    path = Path(f"cards/{name}.yaml")
    try:
        card = load_text(text, path)
    except CardError as error:
        assert error.problems and all(isinstance(p, Problem) and p.line >= 1 and p.column >= 1 for p in error.problems)
        return "load error"
    problems = check_cards([card])
    assert all(isinstance(p, Problem) and p.path == path and p.line >= 1 and p.column >= 1 and p.message for p in problems)
    if any(p.severity == "error" for p in problems):
        return "check error"
    pages = render.render_family(card, [], [])
    assert sorted(pages) == [f"models/{card.id}.en.md", f"models/{card.id}.zh.md"]
    return "rendered"


# --------------------------------------------------------------------------- random texts

YAML_TOKENS = list("ab1.0-: \n\t[]{},'\"&*!|>#%@`?~\\<é\x00\ufeff") + ["\r\n", "{{", "- ", ": ", "  ", "models:", "name: ", ".nan", "1e9"]
YAMLISH = st.lists(st.sampled_from(YAML_TOKENS), max_size=60).map("".join)


@SETTINGS
@given(YAMLISH)
def test_yamlish_text(text: str) -> None:
    EXAMPLES["yaml-ish texts"] += 1
    assert outcome(text) in ("load error", "check error", "rendered")


@SETTINGS
@given(st.text(max_size=200))
def test_any_unicode_text(text: str) -> None:
    EXAMPLES["unicode texts"] += 1
    assert outcome(text) in ("load error", "check error", "rendered")


@SETTINGS
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_text_splice(name: str, data: st.DataObject) -> None:
    """Cut, duplicate or overwrite a stretch of a valid card's text."""
    EXAMPLES["text splices"] += 1
    text = SEEDS[name]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.one_of(st.just(""), st.just(text[start:end] * 2), st.text(max_size=20)))
    outcome(text[:start] + insert + text[end:], name)


# --------------------------------------------------------------------------- structural mutations


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path of a data tree, the root included."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, prefix + (index,))


def at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.text(max_size=12), st.sampled_from(["", "Mini_A", "Rich_A", "fraction", "percent", "latency", "ms", "G", "FP32", "zh", "en", "0.5", "NaN"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["zh", "en", "name", "metric", "unit", "x"]), inner, max_size=3)), max_leaves=6)
MUTATIONS = ("drop", "replace", "duplicate", "shuffle", "add key", "retype")


def mutate(data: Any, draw: st.DataObject) -> Any:
    data = copy.deepcopy(data)
    for _ in range(draw.draw(st.integers(1, 3), label="mutations")):
        path = draw.draw(st.sampled_from(list(paths(data))[1:]), label="path")
        parent, last = at(data, path[:-1]), path[-1]
        kind = draw.draw(st.sampled_from(MUTATIONS), label="kind")
        value = parent[last]
        if kind == "drop":
            del parent[last]
        elif kind == "replace":
            parent[last] = draw.draw(VALUES, label="value")
        elif kind == "duplicate" and isinstance(value, list) and value:
            value.append(copy.deepcopy(value[draw.draw(st.integers(0, len(value) - 1))]))
        elif kind == "shuffle" and isinstance(value, list):
            random.Random(draw.draw(st.integers(0, 99))).shuffle(value)
        elif kind == "add key" and isinstance(value, dict):
            value[draw.draw(st.sampled_from(["name", "metric", "unit", "top1", "label", "zh", "extra"]))] = draw.draw(VALUES)
        elif kind == "retype":  # the same content in another type: "0.5" for 0.5, [x] for x, {"en": x} for x
            parent[last] = draw.draw(st.sampled_from([str(value), [value], {"en": value}, None]))
        if not isinstance(data, dict) or not list(paths(data))[1:]:
            break
    return data


@SETTINGS
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_mutated_card(name: str, data: st.DataObject) -> None:
    mutated = mutate(SEED_DATA[name], data)
    EXAMPLES["structural mutations"] += 1
    result = outcome(dump_card(mutated), name)
    EXAMPLES[f"structural mutations: {result}"] += 1


@settings(SETTINGS, max_examples=60)  # each example checks up to three whole cards
@given(st.data())
def test_cards_together(data: st.DataObject) -> None:
    """Cross-card rules (slug collisions) on several mutated cards at once."""
    EXAMPLES["card sets"] += 1
    cards: list[Card] = []
    for index in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(SEEDS)))
        mutated = mutate(SEED_DATA[name], data) if data.draw(st.booleans()) else SEED_DATA[name]
        try:
            cards.append(load_text(dump_card(mutated), Path(f"cards/{name}{index}.yaml")))
        except CardError:
            continue
    assert all(isinstance(p, Problem) for p in check_cards(cards))


def test_seeds_render_clean() -> None:
    """The property tests start from valid cards, or the mutations would prove little."""
    for name, text in SEEDS.items():
        assert outcome(text, name) == "rendered"
        assert outcome(dump_card(SEED_DATA[name]), name) == "rendered"


@pytest.fixture(scope="module", autouse=True)
def report_examples() -> Iterator[None]:
    yield
    print("\nhypothesis examples run:", dict(sorted(EXAMPLES.items())), "total", sum(v for k, v in EXAMPLES.items() if ":" not in k))
