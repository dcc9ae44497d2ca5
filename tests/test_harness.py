"""The test harness itself: nbval fails when it should, the runner executes cleanly.

Fixture notebooks are copied to a temporary folder and validated there with the
same nbval options as `make test`, so the project's own configuration does not
interfere.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import notebooks

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SANITIZE = ROOT / "tests" / "sanitize.cfg"


def makefile_nbval_flags():
    """The nbval flags of `make test`, read from the Makefile (one source of truth)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("NBVAL_FLAGS :=")]
    flags = line.split(":=", 1)[1].split()
    return [str(ROOT / flag) if flag.startswith("tests/") else flag for flag in flags]


def nbval(tmp_path, name):
    shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # isolate from pyproject.toml
    flags = [flag for flag in makefile_nbval_flags() if not flag.isdigit()]
    flags = [f for f in flags if f != "--nbval-cell-timeout"] + ["--nbval-cell-timeout", "60"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *flags, name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )


def test_make_test_runs_nbval_in_lax_mode_with_the_sanitize_file_in_every_pass():
    flags = makefile_nbval_flags()
    assert "--nbval-lax" in flags and "--nbval-current-env" in flags
    assert str(SANITIZE) in flags
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert recipe.count("$(PYTEST)") == 3, recipe  # TensorFlow, JAX without TensorFlow, lowest versions
    assert "$(NBVAL_FLAGS)" in (ROOT / "Makefile").read_text(encoding="utf-8").split("PYTEST   :=", 1)[1].split("\n")[0]


@pytest.mark.slow
def test_the_project_collects_one_nbval_item_per_code_cell_of_every_page():
    """With the Makefile's flags and the project's own configuration (testpaths)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
         *makefile_nbval_flags()], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    collected = {}
    for line in result.stdout.splitlines():
        if ".ipynb::Cell " in line:
            path = line.split("::")[0]
            collected[path] = collected.get(path, 0) + 1
    expected = {}
    for page in notebooks.toc_notebooks(ROOT):
        cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
        expected[page.relative_to(ROOT).as_posix()] = sum(c["cell_type"] == "code" for c in cells)
    assert "intro.ipynb" in expected
    assert collected == expected


def test_nbval_passes_a_good_notebook(tmp_path):
    result = nbval(tmp_path, "good.ipynb")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 passed" in result.stdout  # the sanitize file hides the memory address


def test_nbval_fails_a_broken_notebook(tmp_path):
    result = nbval(tmp_path, "broken.ipynb")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "ZeroDivisionError" in result.stdout
    assert "1 failed, 1 passed" in result.stdout


def test_nbval_fails_when_a_checked_output_changes(tmp_path):
    result = nbval(tmp_path, "wrong_output.ipynb")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed" in result.stdout


def test_execute_notebook_runs_top_to_bottom_and_writes_outputs(tmp_path):
    path = tmp_path / "good.ipynb"
    shutil.copy(FIXTURES / "good.ipynb", path)
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        cell["outputs"], cell["execution_count"] = [], None
    path.write_text(json.dumps(nb))
    result = notebooks.execute_notebook(path, timeout=120)
    assert result.seconds > 0
    if sys.platform.startswith("linux"):  # peak memory comes from /proc/<kernel pid>/status
        assert result.peak_memory_mb is not None and result.peak_memory_mb > 10
    cells = json.loads(path.read_text())["cells"]
    assert [c["execution_count"] for c in cells] == [1, 2, 3]
    assert "".join(cells[1]["outputs"][0]["text"]) == "2\n"
    assert all("execution" not in c["metadata"] for c in cells)


def test_execute_notebook_raises_on_a_failing_cell_and_writes_nothing(tmp_path):
    from nbclient.exceptions import CellExecutionError

    path = tmp_path / "broken.ipynb"
    shutil.copy(FIXTURES / "broken.ipynb", path)
    before = path.read_text()
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        notebooks.execute_notebook(path, timeout=120)
    assert path.read_text() == before


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"path": "missing.ipynb"}, FileNotFoundError, "existing .ipynb"),
        ({"path": str(FIXTURES / "good.ipynb"), "timeout": 0}, ValueError, "timeout"),
        ({"path": str(FIXTURES / "good.ipynb"), "seed": -1}, ValueError, "seed"),
    ],
)
def test_execute_notebook_rejects_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        notebooks.execute_notebook(**kwargs)


def test_toc_files_names_a_missing_page(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/99_none\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    with pytest.raises(FileNotFoundError, match="99_none"):
        notebooks.toc_files(tmp_path)


def test_toc_files_reads_parts_in_order(tmp_path):
    (tmp_path / "chapters").mkdir()
    for name in ("a", "b"):
        (tmp_path / "chapters" / f"{name}.ipynb").write_text("{}")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: P\n    chapters:\n"
        "      - file: chapters/b\n      - file: chapters/a\n"
    )
    assert [p.name for p in notebooks.toc_files(tmp_path)] == ["intro.md", "b.ipynb", "a.ipynb"]
    assert [p.name for p in notebooks.toc_notebooks(tmp_path)] == ["b.ipynb", "a.ipynb"]


def test_book_root_outside_a_book_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="_toc.yml"):
        notebooks.book_root(tmp_path)


def test_benchmark_record_merges_entries(tmp_path):
    record = tmp_path / "benchmarks.json"
    notebooks.update_record(record, [{"notebook": "chapters/a.ipynb", "seconds": 10.0, "peak_memory_mb": 500}], {"cores": 2})
    notebooks.update_record(record, [{"notebook": "chapters/b.ipynb", "seconds": 20.4, "peak_memory_mb": 600}], {"cores": 2})
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    assert notebooks.recorded_seconds("chapters/a.ipynb", tmp_path) == 10.0
    assert notebooks.recorded_seconds("chapters/b.ipynb", tmp_path) == 20.4
    assert notebooks.recorded_seconds("chapters/c.ipynb", tmp_path) is None


def test_sync_run_note_rewrites_only_the_note(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "chapters").mkdir()
    path = tmp_path / "chapters" / "02_x.ipynb"
    nb = new_notebook(cells=[new_markdown_cell("Runs in about 99 s on a 2-core CPU."),
                             new_code_cell("print(1)", execution_count=1)])
    nbformat.write(nb, path)
    assert notebooks.sync_run_note(path, tmp_path) is None  # no record yet: nothing changes
    notebooks.update_record(tmp_path / "benchmarks.json",
                            [{"notebook": "chapters/02_x.ipynb", "seconds": 41.6, "peak_memory_mb": 1}], {})
    assert notebooks.sync_run_note(path, tmp_path) == 42
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].source == "Runs in about 42 s on a 2-core CPU."
    assert cells[1].execution_count == 1
