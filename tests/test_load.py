"""Loader: line marks, raw number text, and refusal of YAML a card never needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoocards.errors import CardError
from zoocards.load import format_path, load_file, load_text

P = Path("cards/t.yaml")


def test_keeps_raw_number_text_and_marks(card_text: str) -> None:
    card = load_text(card_text, P)
    assert card.data["models"][0]["metrics"]["top1"] == 0.762
    assert card.raw_number(("models", 0, "metrics", "top1")) == "0.7620"
    assert card.raw_number(("models", 0, "metrics", "flops")) == "0.60"
    mark = card.mark(("models", 0, "metrics", "top1"))
    assert (mark.line, mark.column) == (20, 7)  # at the key, where a contributor looks


def test_mark_falls_back_to_parent(card_text: str) -> None:
    card = load_text(card_text, P)
    assert card.mark(("models", 0, "metrics", "missing")) == card.mark(("models", 0, "metrics"))


@pytest.mark.parametrize(
    "text, message",
    [
        # an alias could expand exponentially ("billion laughs"): refused before expansion
        ("a: &x [1, 2]\nb: *x\n", "cards/t.yaml:1:4: b: YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out"),
        # the second value would silently win in plain YAML
        ("a: 1\na: 2\n", "cards/t.yaml:2:1: a: duplicate key 'a' (first written at line 1); keep one"),
        # tabs are the most common hand-editing mistake
        ("a:\n\t- 1\n", "cards/t.yaml:2:1: (document): YAML syntax error: found character that cannot start any token (YAML indents with spaces, never tabs)"),
        ('a: "open\n', "cards/t.yaml:2:1: (document): YAML syntax error: found unexpected end of stream, while scanning a quoted scalar that starts at line 1, column 4"),
        # NaN and inf compare false with everything: a verification would be meaningless
        ("a: .nan\n", "cards/t.yaml:1:4: a: .nan is not a finite number; write the figure, or null when the source has none"),
        ("a: 1.0e+400\n", "cards/t.yaml:1:4: a: 1.0e+400 is too large to be a figure"),
        ("", "cards/t.yaml:1:1: (document): the card is empty; start from `zoocards new NAME`"),
        ("- 1\n", "cards/t.yaml:1:1: (document): a card must be a mapping of keys (schema_version, id, name, ...)"),
        # tags would ask the loader to construct objects
        ("a: !!python/object x\n", "cards/t.yaml:1:4: a: YAML tag tag:yaml.org,2002:python/object is not allowed in a card; remove it"),
        ("a: {<<: {b: 1}}\n", "cards/t.yaml:1:5: a: YAML merge keys (<<) are not allowed in a card; write the keys out"),
        # an alias with no anchor is the composer's error, as it always was
        ("a: *x\n", "cards/t.yaml:1:4: (document): YAML syntax error: found undefined alias"),
        # a list or mapping cannot name a field
        ("[1]: 2\n", "cards/t.yaml:1:1: (top level): a key must be a plain name, not a list or mapping"),
        # YAML 1.1 reads an unquoted date as a timestamp: a tag the card does not allow
        ("a: 2020-01-01\n", "cards/t.yaml:1:4: a: YAML tag tag:yaml.org,2002:timestamp is not allowed in a card; remove it"),
        # one level too deep: refused at the value, named by its key path
        ("x: " + "[" * 12 + "1" + "]" * 12 + "\n", "cards/t.yaml:1:16: x" + "[0]" * 12 + ": nesting deeper than 12 levels; no card field is nested that deep"),
        # far too deep: refused at the first collection past the bound, before a problem earlier in the file
        ("a: !!python/object x\nb: " + "[" * 100_000 + "]" * 100_000 + "\n",
         "cards/t.yaml:2:17: b" + "[0]" * 13 + ": nesting deeper than 12 levels; no card field is nested that deep"),
        # an alias is refused as a key too, not read as the text it names
        ("a: &k x\n*k : 1\n", "cards/t.yaml:2:1: (top level): YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out"),
        ("&k a: 1\nb: *k\n", "cards/t.yaml:1:1: b: YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out"),
        # a tag on a key could ask for an object as much as one on a value
        ("!!python/object x: 1\n", "cards/t.yaml:1:1: (top level): YAML tag tag:yaml.org,2002:python/object is not allowed on a key; remove it"),
        # a tag that asks for a number of text that is none: a card error, not a crash
        ("a: !!int e5\n", "cards/t.yaml:1:4: a: e5 is not a number; write the figure, or quote it if it is text"),
        # no UTF-8 file can hold a lone surrogate
        ("a: \ud800\n", "cards/t.yaml:1:4: (document): character U+D800 is not valid Unicode (a lone surrogate); save the card as UTF-8"),
    ],
)
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(CardError) as caught:
        load_text(text, P)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "text, data",
    [
        # YAML 1.1 reads these as a boolean, a hexadecimal number and a sexagesimal time; a card means the text
        ("a: yes\nb: 0x1F\nc: 12:30\n", {"a": "yes", "b": "0x1F", "c": "12:30"}),
        # and it reads an unquoted 1e9 as text, where a contributor means the number
        ("a: 1e9\nb: 1_000\n", {"a": 1e9, "b": 1000}),
        # an anchor nothing refers to does no harm
        ("a: &x 1\n", {"a": 1}),
    ],
)
def test_plain_scalars_read_as_a_contributor_means(text: str, data: dict[str, object]) -> None:
    assert load_text(text, P).data == data


def test_sequence_items_are_marked_where_they_start() -> None:
    card = load_text("a:\n  - 1\n  - {b: 2}\n", P)
    assert [(card.marks[path].line, card.marks[path].column) for path in [(), ("a",), ("a", 0), ("a", 1), ("a", 1, "b")]] == [
        (1, 1), (1, 1), (2, 5), (3, 5), (3, 6)
    ]
    assert card.raw == {("a", 0): "1", ("a", 1, "b"): "2"}


def test_quoted_numbers_stay_text() -> None:
    card = load_text('a: "0.5"\nb: !!str 7\nc: 0.5\nd: !!str 1e9\n', P)
    assert card.data == {"a": "0.5", "b": "7", "c": 0.5, "d": "1e9"}
    assert card.raw_number(("a",)) is None


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\r\nb: 2.50\r\n")
    card = load_file(path)
    assert card.data == {"a": 1, "b": 2.5}
    assert card.raw_number(("b",)) == "2.50"


def test_non_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(CardError) as caught:
        load_file(path)
    assert str(caught.value).endswith("x.yaml:2:7: (file): byte 0xe9 is not UTF-8; save the card as UTF-8")


def test_format_path() -> None:
    assert format_path(("models", 0, "metrics", "top1")) == "models[0].metrics.top1"
    assert format_path(()) == "(top level)"
