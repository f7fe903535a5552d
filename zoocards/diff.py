"""`zoocards diff BASE`: which claimed figures, measurements and statuses changed since a git revision.

Both sides are computed the same way: the cards and measurements of the revision are
extracted into a temporary directory (`git ls-tree` + `git show`), loaded, and verified
against this host, so a change of status is a change in the cards or measurements,
never a change of machine.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoocards import build, compare, measure
from zoocards.errors import CardError, ZoocardsError

Key = tuple[Any, ...]
FIELDS = ("claimed", "measured", "status")


@dataclass(frozen=True)
class Change:
    """One figure whose claim, measurement or status differs between the two sides."""

    kind: str  # added, removed, changed
    key: Key
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def identity(verification: dict[str, Any]) -> Key:
    """The identity of a figure: card, model, metric and the conditions it was measured under."""
    return (verification["card"], verification["model"], verification["metric"], verification.get("hardware"),
            verification.get("precision"), verification.get("batch_size"), verification.get("threads"))


def _git(root: Path, *args: str) -> bytes:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True)
    if result.returncode != 0:
        raise ZoocardsError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace').strip()}; is BASE a revision of this repository (e.g. origin/main)?")
    return result.stdout


def extract(root: Path, revision: str, directory: Path, target: Path) -> None:
    """Copy the files of `directory` (relative to the repository) at `revision` into `target`."""
    top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    relative = directory.resolve().relative_to(top.resolve()).as_posix()
    target.mkdir(parents=True, exist_ok=True)
    listing = _git(top, "ls-tree", "--name-only", f"{revision}:{relative}") if _exists(top, revision, relative) else b""
    for name in listing.decode().splitlines():
        if name.endswith((".yaml", ".json")):
            (target / name).write_bytes(_git(top, "show", f"{revision}:{relative}/{name}"))


def _exists(top: Path, revision: str, relative: str) -> bool:
    _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    return subprocess.run(["git", "cat-file", "-e", f"{revision}:{relative}"], cwd=top, capture_output=True).returncode == 0


def verifications(cards_dir: Path, measurements_dir: Path) -> dict[Key, dict[str, Any]]:
    """The verification of every figure of a set of cards, by identity."""
    cards, _ = build.load_and_check(cards_dir)
    records = {card.id: measure.load_records(measurements_dir, card.id) for card in cards}
    return {identity(dict(v)): dict(v) for v in compare.verify(cards, records, measure.host_fingerprint())}


def changes(before: dict[Key, dict[str, Any]], after: dict[Key, dict[str, Any]]) -> list[Change]:
    """Figures added, removed, or with a different claim, measurement or status."""
    out = []
    for key in sorted(set(before) | set(after), key=lambda k: tuple(str(x) for x in k)):
        old, new = before.get(key), after.get(key)
        if old is None:
            out.append(Change("added", key, None, new))
        elif new is None:
            out.append(Change("removed", key, old, None))
        elif any(old.get(f) != new.get(f) for f in FIELDS):
            out.append(Change("changed", key, old, new))
    return out


def diff(project: build.Project, base: str) -> list[Change]:
    """Changes between revision `base` and the working tree."""
    with tempfile.TemporaryDirectory(prefix="zoocards-diff-") as temporary:
        old_cards, old_measurements = Path(temporary) / "cards", Path(temporary) / "measurements"
        extract(project.root, base, project.cards_dir, old_cards)
        extract(project.root, base, project.measurements_dir, old_measurements)
        try:
            before = verifications(old_cards, old_measurements)
        except CardError as error:
            raise ZoocardsError(f"the cards at {base} do not pass the checks, so they cannot be compared:\n{error}") from None
    return changes(before, verifications(project.cards_dir, project.measurements_dir))


def _value(v: dict[str, Any] | None, name: str) -> str:
    if v is None or v.get(name) is None:
        return "—"
    if name == "claimed":
        return str(v.get("claimed_raw") or v["claimed"])
    if name == "measured":
        return f"{v['measured']:g}"
    return str(v[name])


def _pair(change: Change, name: str) -> str:
    old, new = _value(change.before, name), _value(change.after, name)
    return new if change.kind == "added" else old if change.kind == "removed" else (old if old == new else f"{old} → {new}")


def _conditions(key: Key) -> str:
    hardware, precision, batch, threads = key[3:]
    parts = [str(x) for x in (hardware, precision) if x]
    parts += [f"bs={batch}"] if batch else []
    parts += [f"threads={threads}"] if threads else []
    return " ".join(parts)


def format_changes(found: list[Change], base: str, style: str = "markdown") -> str:
    """The changes as a Markdown table (for a job summary) or as plain text."""
    if style not in ("markdown", "text"):
        raise ZoocardsError(f"--format {style}: use markdown or text")
    counts = {kind: sum(1 for c in found if c.kind == kind) for kind in ("added", "changed", "removed")}
    headline = f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed figures since {base}"
    if style == "text":
        lines = [headline]
        for c in found:
            card, model, metric = c.key[:3]
            lines.append(f"{c.kind:8} {card}/{model} {metric} {_conditions(c.key)}".rstrip()
                         + f": claimed {_pair(c, 'claimed')}, measured {_pair(c, 'measured')}, status {_pair(c, 'status')}")
        return "\n".join(lines) + "\n"
    lines = [f"### zoocards: figures since `{base}`", "", headline + "."]
    if found:
        lines += ["", "| change | card | model | metric | conditions | claimed | measured | status |", "| --- | --- | --- | --- | --- | --: | --: | --- |"]
        for c in found:
            card, model, metric = c.key[:3]
            cells = [c.kind, card, model, metric, _conditions(c.key), _pair(c, "claimed"), _pair(c, "measured"), _pair(c, "status")]
            lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"
