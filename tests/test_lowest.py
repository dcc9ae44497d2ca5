"""The declared lower bounds are real: `make test` runs part of the book with exactly them."""

import importlib.metadata
import os

import pytest

from conftest import ROOT
from tools.lowest import lowest_requirements


def test_every_dependency_has_a_lower_bound_and_the_list_is_complete():
    pins = lowest_requirements(ROOT / "pyproject.toml")
    names = [pin.split("==")[0] for pin in pins]
    assert "keras" in names and "numpy" in names
    assert all("==" in pin for pin in pins)


def test_a_dependency_without_a_lower_bound_is_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["keras"]\n')
    with pytest.raises(ValueError, match="keras"):
        lowest_requirements(tmp_path / "pyproject.toml")


@pytest.mark.skipif(os.environ.get("BOOK_EXPECT_LOWEST") != "1",
                    reason="runs in make test's lowest-versions pass (BOOK_EXPECT_LOWEST=1)")
def test_this_pass_runs_with_the_lowest_declared_versions():
    for pin in lowest_requirements(ROOT / "pyproject.toml"):
        name, version = pin.split("==")
        assert importlib.metadata.version(name) == version, name
    import keras
    import numpy

    assert keras.__version__ == importlib.metadata.version("keras")
    assert numpy.__version__ == importlib.metadata.version("numpy")
