"""The project's own error type: what a contributor sees, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one card, located precisely enough to fix it."""

    path: Path
    line: int
    column: int
    key_path: str
    message: str
    severity: str = "error"  # "error" fails the build; "warning" is printed only

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{display_path(self.path)}:{self.line}:{self.column}: {prefix}{self.key_path}: {self.message}"


def display_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ZoocardsError(Exception):
    """Any failure zoocards reports as a message (exit 1), not a traceback."""


class CardError(ZoocardsError):
    """One or more problems in card files, all collected before raising."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
