"""The website builds with zero warnings and every page carries its outputs and launch button."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.notebooks import toc_files

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
         "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True, timeout=900,
    )
    return result, out / "_build" / "html"


def test_book_builds_without_warnings(site):
    result, html = site
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    assert "WARNING" not in log, [line for line in log.splitlines() if "WARNING" in line][:10]
    assert (html / "index.html").is_file()


def test_every_page_is_rendered_with_outputs(site):
    _, html = site
    for page in toc_files(ROOT):
        rel = page.relative_to(ROOT).with_suffix(".html")
        target = html / rel
        assert target.is_file(), f"{rel} missing from the site"
        text = target.read_text(encoding="utf-8")
        if page.suffix == ".ipynb":
            assert "cell_output" in text, f"{rel}: no stored outputs rendered"


def test_notebook_pages_have_a_colab_launch_button(site):
    _, html = site
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]["url"].rstrip("/").split("github.com/")[1]
    for page in toc_files(ROOT):
        if page.suffix != ".ipynb":
            continue
        rel = page.relative_to(ROOT)
        text = (html / rel.with_suffix(".html")).read_text(encoding="utf-8")
        expected = f"https://colab.research.google.com/github/{repo}/blob/main/{rel.as_posix()}"
        assert expected in text, f"{rel}: no Colab button pointing to {expected}"
