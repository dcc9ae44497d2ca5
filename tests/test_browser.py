"""Every page of the built website, as a reader's browser shows it.

The site (built once per run, shared with tests/test_site.py) is served on 127.0.0.1 under a
sub-path, as GitHub Pages serves a project site, and headless Chromium (Debian's ``chromium``,
driven by Playwright) opens every page. A page fails on a console error, a request to any
other host, an equation that MathJax did not render, an image that does not load, an internal
link or anchor that does not resolve, or a Colab link that does not point to the page's own
notebook in the repository. The search page must find "attention". Screenshots of two pages
are saved under _build/screenshots/.

``make test`` installs Debian's Chromium when it runs as root (``make browser``); elsewhere
this module skips and says how to enable it. On CI (``CI`` set) a missing browser fails.
"""

import functools
import http.server
import os
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from test_site import parse, site_pages

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
SCREENSHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"].rstrip("/").split("github.com/")[1]  # owner/name
SUB_PATH = "/" + REPOSITORY.split("/")[1] + "/"  # GitHub Pages serves a project site here
CHROMIUM_ARGS = [  # no background traffic: the machine's network is closed
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-domain-reliability", "--disable-breakpad",
]
PAGE_TIMEOUT_MS = 30_000

# Run in the page once it has loaded: wait for MathJax (if the page loads it), make every
# image load, then report equations, images and links.
INSPECT_JS = """
async () => {
  if (window.MathJax) {
    for (let i = 0; i < 200 && !(MathJax.startup && MathJax.startup.promise); i++) {
      await new Promise(r => setTimeout(r, 50));
    }
    if (MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  }
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  const broken = [];
  await Promise.all(images.map(img => img.decode().catch(() => {
    broken.push(img.getAttribute("src"));
  })));
  for (const img of images) {
    if (img.complete && img.naturalWidth === 0 && !broken.includes(img.getAttribute("src"))) {
      broken.push(img.getAttribute("src"));
    }
  }
  const math = [...document.querySelectorAll(".math")];
  const raw = math.filter(el => !el.querySelector("mjx-container")
                               || el.querySelector("mjx-merror, [data-mjx-error]"))
                  .map(el => el.textContent.trim().slice(0, 80));
  return {
    mathjax: Boolean(window.MathJax && window.MathJax.version),
    equations: math.length,
    unrendered: raw,
    images: images.length,
    broken_images: broken,
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
  };
}
"""


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site under SUB_PATH only; anything else is a 404, as on GitHub Pages."""

    def translate_path(self, path):
        path = urlsplit(path).path
        if not path.startswith(SUB_PATH):
            return str(Path(self.directory) / "__outside_the_site__")
        return super().translate_path("/" + path[len(SUB_PATH):])

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser_site(built_site):
    """(base URL, html folder): the built site served on 127.0.0.1 under SUB_PATH."""
    html = Path(built_site["html"])  # tests/test_site.py reports the build's warnings
    assert (html / "intro.html").is_file(), "the site did not build: " + built_site["log"][-3000:]
    handler = functools.partial(_SubPathHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{SUB_PATH}", html
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} not found: the browser test needs Debian's chromium package. Enable it with "
            "`sudo apt-get install chromium` (or `make browser` as root; `make test` runs that as root), "
            "or set BOOK_CHROMIUM to another Chromium's path."
        )
        if os.environ.get("CI"):
            pytest.fail(message + " On CI it must run.")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _navigation_cut_short(request):
    """A redirect page's own navigation (index.html -> intro.html) that closing the page aborted.

    Not a fault of the page: what the redirect leads to is visited and checked as a page of its own.
    """
    return request.is_navigation_request() and "ERR_ABORTED" in (request.failure or "")


def visit(browser, url, origin, screenshot=None):
    """Open ``url`` in a fresh page; return what it showed and what it asked for."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    report = {"console_errors": [], "foreign_requests": [], "failed_requests": []}

    def route(route_):
        if route_.request.url.startswith(origin) or route_.request.url.startswith("data:"):
            route_.continue_()
        else:  # record it and never let it out
            report["foreign_requests"].append(route_.request.url)
            route_.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and report["console_errors"].append(msg.text))
    page.on("pageerror", lambda error: report["console_errors"].append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: request.url.startswith(origin)
            and not _navigation_cut_short(request)
            and report["failed_requests"].append(request.url))
    page.on("response", lambda response: response.status >= 400
            and report["failed_requests"].append(f"{response.status} {response.url}"))
    # Wait for the response only, then for the page to load: a redirect page (index.html) may start its
    # own navigation before its load event, which would make goto(wait_until="load") fail.
    response = page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
    report["status"] = response.status if response else None
    page.wait_for_load_state("load", timeout=PAGE_TIMEOUT_MS)
    for attempt in range(3):  # a redirect page (index.html) navigates on by itself
        try:
            report.update(page.evaluate(INSPECT_JS))
            break
        except PlaywrightError as error:
            if "context was destroyed" not in str(error) or attempt == 2:
                raise
            page.wait_for_load_state("load", timeout=PAGE_TIMEOUT_MS)
    report["final_url"] = page.url
    if screenshot:
        equations = page.locator("div.math")
        if equations.count():  # show a rendered equation
            equations.first.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)  # fonts and layout settle
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / screenshot))
    context.close()
    return report


@pytest.fixture(scope="module")
def visits(browser_site, chromium):
    """Every page of the site, visited once: {page path: report}."""
    base, html = browser_site
    origin = base.split(SUB_PATH)[0]
    start = time.perf_counter()
    shots = {"intro.html": "intro.png", "chapters/05_transformer.html": "05_transformer.png"}
    reports = {}
    for page in site_pages(html):
        rel = page.relative_to(html).as_posix()
        reports[rel] = visit(chromium, base + rel, origin, screenshot=shots.get(rel))
    print(f"browser: {len(reports)} pages in {time.perf_counter() - start:.1f} s")
    return reports


def test_every_page_loads_without_console_errors(visits):
    assert len(visits) >= 8, sorted(visits)  # intro, five chapters, API, glossary, search, ...
    problems = {page: r["console_errors"] + r["failed_requests"] for page, r in visits.items()
                if r["console_errors"] or r["failed_requests"] or r["status"] != 200}
    assert not problems, problems


def test_no_page_requests_another_host(visits):
    foreign = {page: r["foreign_requests"] for page, r in visits.items() if r["foreign_requests"]}
    assert not foreign, foreign


def test_every_equation_is_rendered_by_mathjax(visits):
    unrendered = {page: r["unrendered"] for page, r in visits.items() if r["unrendered"]}
    assert not unrendered, unrendered
    # the chapters have equations, and MathJax (served by the site) rendered them
    with_math = [page for page, r in visits.items() if r["equations"]]
    assert "chapters/02_dense.html" in with_math and "chapters/05_transformer.html" in with_math, with_math
    assert all(visits[page]["mathjax"] for page in with_math)


def test_every_image_loads(visits):
    broken = {page: r["broken_images"] for page, r in visits.items() if r["broken_images"]}
    assert not broken, broken
    assert sum(r["images"] for r in visits.values()) > 10


def unresolved_links(links, html, origin, ids_cache):
    """The links of ``links`` into the site (``origin``) that reach no file or no #anchor."""
    broken = []
    for link in links:
        if not link.startswith(origin):
            continue
        parts = urlsplit(link)
        if not parts.path.startswith(SUB_PATH):
            broken.append(f"{link} (outside {SUB_PATH})")
            continue
        target = Path(html) / unquote(parts.path[len(SUB_PATH):])
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(link)
        elif parts.fragment and target.suffix == ".html":
            if target not in ids_cache:
                ids_cache[target] = parse(target).ids
            if unquote(parts.fragment) not in ids_cache[target]:
                broken.append(link)
    return broken


def test_every_internal_link_resolves(visits, browser_site):
    """Links to the site's own pages reach a file, and their #anchor exists on that page."""
    base, html = browser_site
    origin = base.split(SUB_PATH)[0]
    ids_cache = {}
    broken = {}
    for page, report in visits.items():
        found = unresolved_links(report["links"], html, origin, ids_cache)
        if found:
            broken[page] = found
    assert not broken, broken
    assert sum(len(r["links"]) for r in visits.values()) > 100


def test_colab_links_open_the_page_own_notebook(visits):
    branch = CONFIG["repository"].get("branch", "main")
    book = CONFIG["repository"].get("path_to_book", "").strip("/")
    notebooks = 0
    wrong = {}
    for page, report in visits.items():
        colab = [link for link in report["links"] if link.startswith("https://colab.research.google.com/")]
        source = (ROOT / book / page).with_suffix(".ipynb")
        if not source.is_file():
            if colab:
                wrong[page] = colab
            continue
        notebooks += 1
        path = source.relative_to(ROOT).as_posix()
        expected = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{branch}/{path}"
        if colab != [expected]:
            wrong[page] = {"expected": expected, "found": colab}
    assert not wrong, wrong
    assert notebooks >= 6, notebooks  # the preface and five chapters


def test_search_finds_attention(browser_site, chromium):
    base, _ = browser_site
    origin = base.split(SUB_PATH)[0]
    context = chromium.new_context()
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(origin) else r.abort())
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(base + "search.html?q=attention", wait_until="load", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector("#search-results .search-summary", timeout=PAGE_TIMEOUT_MS)
    results = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    summary = page.inner_text("#search-results .search-summary")
    context.close()
    assert not errors, errors
    assert results, f"the search for 'attention' found nothing: {summary!r}"
    assert any("05_transformer" in url for url in results), results


def test_screenshots_are_saved(visits):
    for name in ("intro.png", "05_transformer.png"):
        path = SCREENSHOTS / name
        assert path.is_file() and path.stat().st_size > 10_000, path


def test_the_checks_catch_a_broken_page(tmp_path, chromium):
    """The harness itself: a page with every fault is reported on each count."""
    (tmp_path / "index.html").write_text(
        "<html><head><script src='https://cdn.example.org/mathjax.js'></script></head><body>"
        "<span class='math'>\\(x^2\\)</span><img src='missing.png'><a href='nowhere.html'>x</a>"
        "<a href='index.html#no-such-anchor'>y</a><a href='index.html#here' id='here'>z</a>"
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    handler = functools.partial(_SubPathHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        report = visit(chromium, origin + SUB_PATH + "index.html", origin)
    finally:
        server.shutdown()
        server.server_close()
    assert report["foreign_requests"] == ["https://cdn.example.org/mathjax.js"], report
    assert any("boom" in error for error in report["console_errors"]), report
    assert report["unrendered"] == ["\\(x^2\\)"], report
    assert report["broken_images"] == ["missing.png"], report
    site = origin + SUB_PATH
    assert unresolved_links(report["links"], tmp_path, origin, {}) == [
        urljoin(site, "nowhere.html"), urljoin(site, "index.html#no-such-anchor")
    ], report["links"]
