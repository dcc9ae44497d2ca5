"""Notebook hygiene: every page listed, executed in order, clean, small, consistent.

These tests read the committed notebooks as JSON; they do not run anything.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from tools.notebooks import recorded_seconds, toc_files, toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = toc_notebooks(ROOT)
CHAPTER_FILES = sorted((ROOT / "chapters").glob("*.ipynb"))
MAX_BYTES = 1_500_000

TF_NOISE = re.compile(
    r"oneDNN custom operations|cpu_feature_guard|absl::InitializeLog|rebuild TensorFlow|"
    r"cudart_stub|cuInit|cuda_platform|Unable to register cu(DNN|FFT|BLAS)|I0000 00:00|W0000 00:00|E0000 00:00|"
    r"Local rendezvous is aborting"
)
ABSOLUTE_PATH = re.compile(r"(/work/|/root/|/home/|/tmp/|/Users/|[A-Z]:\\\\)[\w.\-/\\]*")
PROGRESS_BAR = re.compile(r"\d+/\d+ \[=*>?\.*\]|━━━")


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def output_texts(cell):
    for out in cell.get("outputs", []):
        if "text" in out:
            yield out, "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
        for mime in ("text/plain", "text/html", "text/markdown"):
            data = out.get("data", {}).get(mime)
            if data is not None:
                yield out, "".join(data) if isinstance(data, list) else data


def test_there_is_at_least_the_preface():
    assert any(p.name == "intro.ipynb" for p in NOTEBOOKS)


def test_every_toc_entry_exists_and_every_chapter_is_listed():
    listed = {p.resolve() for p in toc_files(ROOT)}  # raises if a listed file is missing
    unlisted = [str(p.relative_to(ROOT)) for p in CHAPTER_FILES if p.resolve() not in listed]
    assert not unlisted, f"chapters missing from _toc.yml: {unlisted}"


def test_chapter_files_are_numbered():
    for path in CHAPTER_FILES:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_executed_in_order_from_one_without_errors(path):
    nb = load(path)
    counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts, "a chapter without code cells"
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}: re-run `make execute`"
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"cell {i} stores an error: {out.get('ename')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_no_log_noise_paths_or_progress_bars_in_outputs(path):
    nb = load(path)
    for i, cell in enumerate(nb["cells"]):
        for out, text in output_texts(cell):
            assert not TF_NOISE.search(text), f"cell {i}: TensorFlow log noise: {text[:200]!r}"
            match = ABSOLUTE_PATH.search(text)
            assert not match, f"cell {i}: absolute path {match.group(0)!r} in an output"
            assert not PROGRESS_BAR.search(text), f"cell {i}: progress bar in an output (use verbose=0)"
            if out.get("name") == "stderr":
                assert not text.strip().startswith("WARNING"), f"cell {i}: warning on stderr: {text[:200]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_is_small(path):
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size / 1e6:.2f} MB"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_setup_cell_comes_first_and_installs_from_the_configured_repository(path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]["url"].rstrip("/")
    code_cells = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    first = "".join(code_cells[0]["source"])
    assert "utils.setup(" in first, "the first code cell must call utils.setup()"
    installs = re.findall(r"git\+(\S+?)@main", first)
    assert installs == [repository], f"Colab install {installs} does not match _config.yml {repository}"
    assert 'if "google.colab" in sys.modules' in first, "install only inside Colab"
    before = "".join("".join(c["source"]) for c in code_cells[:1]).split("utils.setup(")[0]
    assert "import keras" not in before and "import tensorflow" not in before


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_check_cells_are_hidden(path):
    for i, cell in enumerate(load(path)["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.lstrip().startswith("# Check"):
            assert "hide-cell" in cell.get("metadata", {}).get("tags", []), f"cell {i}: tag it hide-cell"


CHAPTERS_WITH_NOTES = [p for p in CHAPTER_FILES]


@pytest.mark.parametrize("path", CHAPTERS_WITH_NOTES, ids=ids(CHAPTERS_WITH_NOTES))
def test_run_note_quotes_the_recorded_benchmark(path):
    text = "".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    match = re.search(r"about (\d+) s on a 2-core CPU", text)
    assert match, "the 'Run this chapter' note must say 'about N s on a 2-core CPU'"
    recorded = recorded_seconds(str(path.relative_to(ROOT)), ROOT)
    assert recorded is not None, "no entry in benchmarks.json: run `make bench`"
    assert int(match.group(1)) == round(recorded), f"note says {match.group(1)} s, benchmarks.json {recorded} s"


def test_glue_keys_are_unique_across_the_book():
    seen = {}
    for path in NOTEBOOKS:
        for cell in load(path)["cells"]:
            for key in re.findall(r"glue\(\s*[\"']([^\"']+)[\"']", "".join(cell["source"])):
                assert key not in seen or seen[key] == path, f"glue key {key!r} in {seen[key].name} and {path.name}"
                seen[key] = path


GLUE_CALL = re.compile(r"^\s*(utils\.)?glue(_figure|_numbers)?\(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_no_stray_values_under_cells_that_end_in_glue(path):
    """A cell ending in glue(...) shows nothing: the value belongs in the text, not below the code."""
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        lines = [line for line in "".join(cell["source"]).splitlines() if line.strip()]
        if lines and GLUE_CALL.match(lines[-1]):
            results = [o for o in cell.get("outputs", []) if o["output_type"] == "execute_result"]
            assert not results, f"cell {i} ends in glue(...) and shows {results[0]['data'].get('text/plain')!r}"


MAX_CODE_LINES = 45


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_code_cells_are_short(path):
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            lines = [line for line in "".join(cell["source"]).splitlines() if line.strip()]
            assert len(lines) <= MAX_CODE_LINES, f"cell {i} has {len(lines)} lines of code: split it"


TIMING_ASSERT = re.compile(r"^\s*assert\b.*(second|wall|time|speed|throughput|elapsed)", re.I | re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_checks_do_not_assert_on_wall_clock_time(path):
    """Speed is reported and glued, never asserted: machines differ."""
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            match = TIMING_ASSERT.search("".join(cell["source"]))
            assert not match, f"cell {i} asserts on a timing: {match.group(0).strip()[:80]}"


# Every section that needs TensorFlow, by notebook: the first argument of
# utils.devices.require_backend("tensorflow", ...) in each such cell. Under another
# backend these cells print a one-line note and skip; a new one must be added here.
TENSORFLOW_ONLY_SECTIONS = {
    "chapters/02_dense.ipynb": ["This section (a tf.GradientTape loop)"],
    "chapters/04_rnn.ipynb": ["This comparison (timeseries_dataset_from_array builds a tf.data pipeline)"],
    "chapters/07_saliency.ipynb": [
        "This comparison with tf-keras-vis",
        "This section (tf-keras-vis)",
        "This section (tf-keras-vis)",
        "The Score-CAM timings and the tf-keras-vis loop",
    ],
    "chapters/08_evaluating_explanations.ipynb": ["The Score-CAM row (tf-keras-vis)"],
    "chapters/11_tools.ipynb": ["This comparison (JAX in a second process, TensorFlow here)"],
    "chapters/09_scale.ipynb": [
        "This comparison (tf.distribute.MirroredStrategy)",
        "The TensorFlow-vs-JAX ratio (TensorFlow in this process)",
    ],
}
REQUIRE_BACKEND = re.compile(r"require_backend\(\s*[\"'](\w+)[\"']\s*,\s*[\"']([^\"']+)[\"']")


def test_every_backend_specific_skip_is_listed():
    found = {}
    for path in NOTEBOOKS:
        for cell in load(path)["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            if "backend_is(" in source and not source.lstrip().startswith("# Check"):
                raise AssertionError(f"{path.name}: a backend test outside a check cell, with no visible note "
                                     f"(use utils.devices.require_backend):\n{source[:300]}")
            if "require_backend(" in source:
                calls = REQUIRE_BACKEND.findall(source)
                assert calls, f"{path.name}: write require_backend('tensorflow', 'What is skipped'):\n{source[:300]}"
                for backend, what in calls:
                    assert backend == "tensorflow", f"{path.name}: unexpected backend {backend!r}"
                    found.setdefault(str(path.relative_to(ROOT)), []).append(what)
    assert found == TENSORFLOW_ONLY_SECTIONS
