"""Bad input and warnings for the returns importer: one line each, never an identifier."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Columns whose values identify a child or a worker: never echoed in any message or output.
IDENTIFYING = frozenset({
    "CHILD", "UPN", "DOB", "MC_DOB", "HOME_POST", "PL_POST", "URN", "SW_ID", "LAchildID",
    "PersonBirthDate", "FormerUPN", "ExpectedPersonBirthDate", "PersonDeathDate"})


class ReturnsError(ValueError):
    """A malformed extract: ``str()`` is one line naming the file, row and column."""

    def __init__(self, file: Path | str, row: int | str | None, column: str | None,
                 problem: str) -> None:
        where = [str(file)]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {problem}")


@dataclass
class Report:
    """What cleaning found, as counts (never identifiers): printed, and written as comments
    in the scenario."""

    unknown_codes: Counter = field(default_factory=Counter)   # (column, code) -> count
    counts: Counter = field(default_factory=Counter)          # cleaning step -> rows affected
    notes: list[str] = field(default_factory=list)
    strict: bool = False

    def unknown(self, file: Path, row: int, column: str, code: str) -> None:
        """An unknown code: an error under --strict, otherwise counted and reported."""
        if self.strict:
            raise ReturnsError(file, row, column, f"unknown code {code!r}")
        self.unknown_codes[(column, code)] += 1

    def warnings(self) -> list[str]:
        out = [f"warning: unknown {col} code {code!r} in {n} row(s), mapped to 'other'"
               for (col, code), n in sorted(self.unknown_codes.items())]
        out += [f"cleaned: {step}: {n}" for step, n in sorted(self.counts.items()) if n]
        out += [f"warning: {note}" for note in self.notes]
        return out
