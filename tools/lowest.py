"""The lowest declared versions of the reader's dependencies, as pip requirements.

``make test`` installs them into ``.lowest/`` (``pip install --no-deps --target``)
and runs the fastest chapters and the data tests with ``PYTHONPATH=.lowest``, so
that every lower bound in ``pyproject.toml`` is a version the book is run against.

    python -m tools.lowest            # prints one "name==version" per line
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import List

# Needed by the lowest pandas but not by the pinned one (pandas 3 dropped pytz).
EXTRAS = ["pytz==2025.2"]
LOWER_BOUND = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*$")


def lowest_requirements(pyproject: Path) -> List[str]:
    """``name==version`` for every ``name>=version`` dependency of ``pyproject``.

    Raises ``ValueError`` for a dependency without a plain lower bound, so that
    every declared range stays testable.
    """
    data = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))
    pins = []
    for dependency in data["project"]["dependencies"]:
        match = LOWER_BOUND.match(dependency)
        if not match:
            raise ValueError(f"dependency {dependency!r} needs a plain lower bound 'name>=version'.")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins + EXTRAS


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    print("\n".join(lowest_requirements(root / "pyproject.toml")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
