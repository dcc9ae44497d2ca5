"""The website builds with zero warnings, every page carries its outputs and launch button,
it loads nothing from another host, and no page is heavy.

The site is built once per test run (``built_site`` in conftest.py) and shared with
tests/test_browser.py, which opens every page in a browser.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from tools.notebooks import toc_files

ROOT = Path(__file__).resolve().parents[1]
MAX_PAGE_BYTES = 2 * 1024 * 1024  # a page with its images
API_MODULES = [
    "utils", "utils.data", "utils.audio", "utils.devices", "utils.training", "utils.models", "utils.transformer",
    "utils.sequences", "utils.metrics", "utils.plots", "utils.costs", "utils.scale", "utils.reference.conv",
    "utils.reference.recurrent", "utils.explain.tabular", "utils.explain.saliency", "utils.explain.evaluation",
]
GLOSSARY_TERMS = [
    "logit", "epoch", "batch", "learning rate", "receptive field", "pooling", "residual connection",
    "hidden state", "gate", "attention", "positional encoding", "key/value cache", "saliency",
    "attribution", "permutation importance", "partial dependence", "surrogate model",
]


class _Resources(HTMLParser):
    """What a page loads (script src, link href of stylesheets/preloads/icons, img src) and its ids."""

    def __init__(self):
        super().__init__()
        self.loaded, self.images, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in ("script", "img", "iframe", "source") and attrs.get("src"):
            self.loaded.append(attrs["src"])
            if tag == "img":
                self.images.append(attrs["src"])
        elif tag == "link" and attrs.get("href") and set((attrs.get("rel") or "").split()) & {
            "stylesheet", "preload", "icon", "modulepreload", "prefetch", "shortcut"
        }:
            self.loaded.append(attrs["href"])


def site_pages(html):
    """Every HTML page of the built site (not the theme's or the sources' files)."""
    return sorted(
        path for path in Path(html).rglob("*.html")
        if not path.relative_to(html).parts[0] in ("_static", "_sources", "_images")
    )


def parse(page):
    parser = _Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site(built_site):
    return built_site, Path(built_site["html"])


def test_book_builds_without_warnings(site):
    record, html = site
    log = record["log"]
    assert record["returncode"] == 0, log[-5000:]
    assert "WARNING" not in log, [line for line in log.splitlines() if "WARNING" in line][:10]
    assert (html / "index.html").is_file()
    print(f"site build: {record['seconds']} s")


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


def test_pages_load_nothing_from_another_host(site):
    """Scripts, styles, fonts and images come from the site itself (links to other sites are fine)."""
    _, html = site
    remote = {}
    for page in site_pages(html):
        found = [url for url in parse(page).loaded if urlsplit(url).netloc or url.startswith("//")]
        if found:
            remote[page.relative_to(html).as_posix()] = found
    for css in (html / "_static").rglob("*.css"):
        found = re.findall(r"@import\s+(?:url\()?['\"]?((?:https?:)?//[^'\")\s]+)", css.read_text(encoding="utf-8"))
        found += re.findall(r"url\(['\"]?((?:https?:)?//[^'\")\s]+)", css.read_text(encoding="utf-8"))
        if found:
            remote[css.relative_to(html).as_posix()] = found
    assert not remote, remote


def test_mathjax_is_served_by_the_site(site):
    _, html = site
    chapter = (html / "chapters" / "02_dense.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"?]*mathjax[^"?]*)', chapter, flags=re.IGNORECASE)
    assert scripts == ["../_static/mathjax/tex-mml-chtml.js"], scripts
    mathjax = html / "_static" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").is_file()
    # the fonts that MathJax's CommonHTML output loads, relative to its own script
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_api_reference_documents_every_module(site):
    _, html = site
    ids = parse(html / "api.html").ids
    missing = [name for name in API_MODULES if f"module-{name}" not in ids]
    assert not missing, f"api.html lacks the modules {missing}"
    for target in ("utils.setup", "utils.glue", "utils.data.load_digits", "utils.metrics.mase",
                   "utils.transformer.MiniGPT", "utils.explain.tabular.permutation_importance"):
        assert target in ids, f"api.html has no entry {target}"


def test_glossary_defines_the_book_terms(site):
    _, html = site
    ids = parse(html / "glossary.html").ids
    slug = lambda term: "term-" + re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")  # noqa: E731
    missing = [term for term in GLOSSARY_TERMS if slug(term) not in ids]
    assert not missing, f"glossary.html lacks the terms {missing}"


def test_no_page_weighs_over_2_mb(site):
    """Each page's HTML plus the images it shows stays under 2 MB (scripts and styles are shared)."""
    _, html = site
    weights = {}
    for page in site_pages(html):
        images = set()
        for src in parse(page).images:
            if src.startswith("data:") or urlsplit(src).netloc:
                continue
            images.add((page.parent / unquote(urlsplit(src).path)).resolve())
        missing = [str(path) for path in images if not path.is_file()]
        assert not missing, f"{page.relative_to(html)}: missing images {missing}"
        weights[page.relative_to(html).as_posix()] = page.stat().st_size + sum(p.stat().st_size for p in images)
    heavy = {name: weight for name, weight in weights.items() if weight > MAX_PAGE_BYTES}
    assert not heavy, f"pages over {MAX_PAGE_BYTES} bytes with their images: {heavy}"
    print("heaviest page:", max(weights.items(), key=lambda item: item[1]))
