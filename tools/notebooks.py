"""Executing and timing the book's notebooks (``make execute`` and ``make bench``).

Every stored output in the book comes from :func:`execute_notebook`: a fresh
kernel, the notebook's own folder as working directory, ``BOOK_SEED=0``, cells
run top to bottom. ``make bench`` runs the same thing without writing back and
records wall time and the kernel's peak memory, which is where each chapter's
"Run this chapter" time comes from.

Command line::

    python -m tools.notebooks execute [NOTEBOOK ...]
    python -m tools.notebooks bench [NOTEBOOK ...] [--output _build/bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

PathLike = Union[str, Path]


def book_root(start: Optional[PathLike] = None) -> Path:
    """The folder holding ``_toc.yml``, searched upwards from ``start`` (default: cwd)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(
        f"No _toc.yml found in {here} or its parents: run this from inside the book's repository."
    )


def toc_files(root: Optional[PathLike] = None) -> List[Path]:
    """Every page listed in ``_toc.yml`` (root first), as existing paths.

    A listed page without a file raises ``FileNotFoundError`` naming it.
    """
    import yaml

    base = book_root(root)
    toc = yaml.safe_load((base / "_toc.yml").read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or "root" not in toc:
        raise ValueError("_toc.yml must be a mapping with a 'root' entry (jb-book format).")
    names = [toc["root"]]

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []) or []:
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))

    pages = []
    for name in names:
        candidates = [base / f"{name}{suffix}" for suffix in (".ipynb", ".md")] + [base / name]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"_toc.yml lists {name!r}, but no such .ipynb or .md file exists.")
        pages.append(found)
    return pages


def toc_notebooks(root: Optional[PathLike] = None) -> List[Path]:
    """The notebooks among :func:`toc_files`, in book order."""
    return [page for page in toc_files(root) if page.suffix == ".ipynb"]


@dataclass
class RunResult:
    """Outcome of one notebook execution."""

    notebook: str
    seconds: float
    peak_memory_mb: Optional[float]


def _peak_rss_mb(pid: Optional[int]) -> Optional[float]:
    """Peak resident memory of a live process in MiB (Linux VmHWM), or None."""
    if pid is None:
        return None
    status = Path(f"/proc/{pid}/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except Exception:  # process gone or psutil missing: report unknown, not zero
        return None


def execute_notebook(
    path: PathLike, timeout: int = 900, write: bool = True, seed: int = 0
) -> RunResult:
    """Run ``path`` top to bottom in a fresh kernel; store the outputs if ``write``.

    The kernel starts in the notebook's folder with ``BOOK_SEED=seed`` and
    ``PYTHONHASHSEED=0``. A failing cell raises ``nbclient``'s
    ``CellExecutionError`` (nothing is written then).
    """
    import nbformat
    from nbclient import NotebookClient

    notebook_path = Path(path)
    if notebook_path.suffix != ".ipynb" or not notebook_path.is_file():
        raise FileNotFoundError(f"path must be an existing .ipynb file; got {str(path)!r}.")
    if not isinstance(timeout, int) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}.")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}.")

    nb = nbformat.read(notebook_path, as_version=4)
    saved_env = {k: os.environ.get(k) for k in ("BOOK_SEED", "PYTHONHASHSEED")}
    os.environ["BOOK_SEED"] = str(seed)
    os.environ["PYTHONHASHSEED"] = "0"
    peak: Dict[str, Optional[float]] = {"mb": None}

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook_path.parent.resolve())}},
        record_timing=False,
    )

    def after_cell(**_kwargs) -> None:  # the kernel is alive here; VmHWM only grows
        provisioner = getattr(client.km, "provisioner", None)
        measured = _peak_rss_mb(getattr(provisioner, "pid", None))
        if measured is not None:
            peak["mb"] = max(peak["mb"] or 0.0, measured)

    client.on_cell_executed = after_cell
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    seconds = time.perf_counter() - start
    if write:
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, notebook_path)
    return RunResult(str(notebook_path), round(seconds, 1), peak["mb"] and round(peak["mb"]))


def bench(notebooks: Sequence[PathLike], output: Optional[PathLike] = None) -> List[RunResult]:
    """Time each notebook in a fresh kernel (outputs not written); print a table.

    With ``output``, also write the table and the machine's description as JSON.
    """
    results = []
    for nb in notebooks:
        result = execute_notebook(nb, write=False)
        results.append(result)
        print(f"{Path(result.notebook).name:<40} {result.seconds:8.1f} s  {result.peak_memory_mb} MiB", flush=True)
    root = book_root()
    table = [
        {**asdict(r), "notebook": str(Path(r.notebook).resolve().relative_to(root))} for r in results
    ]
    report = {
        "machine": _machine(),
        "total_seconds": round(sum(r.seconds for r in results), 1),
        "notebooks": table,
    }
    print(f"{'total':<40} {report['total_seconds']:8.1f} s")
    if output is not None:
        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"written to {out}")
    record = root / RECORD_FILE
    update_record(record, table, report["machine"])
    print(f"recorded in {RECORD_FILE}")
    return results


RECORD_FILE = "benchmarks.json"


def update_record(path: PathLike, rows: Sequence[dict], machine: dict) -> dict:
    """Merge benchmark rows into the committed record (one entry per notebook).

    The record is what chapters quote in their "Run this chapter" note; a test
    checks the note against it.
    """
    path = Path(path)
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    entries = record.get("notebooks", {})
    for row in rows:
        entries[row["notebook"]] = {"seconds": row["seconds"], "peak_memory_mb": row["peak_memory_mb"]}
    record = {"machine": machine, "notebooks": dict(sorted(entries.items()))}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def recorded_seconds(notebook: PathLike, root: Optional[PathLike] = None) -> Optional[float]:
    """The recorded benchmark seconds of ``notebook`` (path relative to the book root)."""
    base = book_root(root)
    path = base / RECORD_FILE
    if not path.is_file():
        return None
    entry = json.loads(path.read_text(encoding="utf-8")).get("notebooks", {}).get(str(notebook))
    return None if entry is None else float(entry["seconds"])


RUN_NOTE = re.compile(r"about (\d+) s on a 2-core CPU")


def sync_run_note(notebook: PathLike, root: Optional[PathLike] = None) -> Optional[int]:
    """Rewrite the "about N s on a 2-core CPU" note of ``notebook`` from ``benchmarks.json``.

    Only markdown cells change, so the executed outputs stay valid. Returns the
    seconds written, or None when the notebook has no note or no record.
    """
    import nbformat

    base = book_root(root)
    path = Path(notebook)
    path = path if path.is_absolute() else base / path
    seconds = recorded_seconds(str(path.resolve().relative_to(base)), base)
    if seconds is None:
        return None
    nb = nbformat.read(path, as_version=4)
    found = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and RUN_NOTE.search(cell.source):
            cell.source = RUN_NOTE.sub(f"about {round(seconds)} s on a 2-core CPU", cell.source)
            found = True
    if not found:
        return None
    nbformat.write(nb, path)
    return round(seconds)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.notebooks", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="re-execute notebooks and store their outputs")
    ex.add_argument("notebooks", nargs="*", help="default: every notebook in _toc.yml")
    ex.add_argument("--record", action="store_true",
                    help="also record the run times in benchmarks.json and update the run notes")
    be = sub.add_parser("bench", help="time notebooks in fresh kernels")
    be.add_argument("notebooks", nargs="*", help="default: every notebook in _toc.yml")
    be.add_argument("--output", default=None, help="JSON file for the results")
    args = parser.parse_args(argv)
    notebooks = [Path(n) for n in args.notebooks] or toc_notebooks()
    if args.command == "execute":
        root = book_root()
        for nb in notebooks:
            result = execute_notebook(nb)
            print(f"executed {nb} in {result.seconds:.1f} s, peak {result.peak_memory_mb} MiB", flush=True)
            if args.record:
                row = {**asdict(result), "notebook": str(Path(nb).resolve().relative_to(root))}
                update_record(root / RECORD_FILE, [row], _machine())
    else:
        bench(notebooks, args.output)
    if args.command == "bench" or args.record:
        for nb in notebooks:
            written = sync_run_note(nb)
            if written is not None:
                print(f"run note of {nb} now says about {written} s")
    return 0


def _machine() -> dict:
    return {"cores": os.cpu_count(), "python": platform.python_version(), "system": platform.system()}


if __name__ == "__main__":
    sys.exit(main())
