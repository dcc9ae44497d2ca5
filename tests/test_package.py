"""The reader's install: the wheel that `%pip install git+...` builds from this repository."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, run_python

READER_MODULES = ["utils", "utils.data", "utils.devices", "utils.explain", "utils.explain.tabular",
                  "utils.metrics", "utils.models", "utils.plots", "utils.reference.conv",
                  "utils.reference.recurrent", "utils.runtime", "utils.sequences", "utils.training",
                  "utils.transformer", "utils.costs"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("build_and_explain-*.whl")
    return path


@pytest.mark.slow
def test_wheel_holds_the_readers_package_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    modules = {n[:-3].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py")}
    for module in READER_MODULES:
        assert module in modules, f"{module} missing from the wheel"
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"utils"}, f"the wheel ships more than utils: {sorted(top)}"
    assert not [n for n in names if n.startswith(("tests/", "tools/", "chapters/"))]


@pytest.mark.slow
def test_wheel_imports_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    code = ("import importlib, utils\n"
            f"for name in {READER_MODULES!r}:\n    importlib.import_module(name)\n"
            "print(utils.__file__)\nutils.setup(quiet=True)\n")
    result = run_python(["-c", code], {"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Path(result.stdout.strip().splitlines()[0]).is_relative_to(site)
