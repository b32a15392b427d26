"""The web page in headless Chromium: search, facets, article, theme, CSV download, no script injection.

Saves {search,article,theme}.png for a human look at the Chinese rendering (docs/screenshots with ZHILI_SCREENSHOTS=1).
"""
from __future__ import annotations

import csv
import io
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from screenshots import screenshots_dir
from search_fixture import HOSTILE, build_run

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = screenshots_dir()
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not (shutil.which("chromium") or CHROMIUM.exists()), reason="chromium not installed")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from pipeline.web.app import create_app

    run = build_run(tmp_path_factory.mktemp("browser") / "run")
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(run), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                              args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()


def test_search_facet_article_theme_and_csv(server, page, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server + "/")
    page.fill("input[name=q]", "社区 养老")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("li.hit")
    assert page.locator("li.hit mark").first.inner_text() in ("社区", "养老")
    page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=False)

    page.fill("input[name=q]", "老龄化")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("li.hit")
    assert page.locator("li.hit mark").first.inner_text() == "老龄化"
    before = page.locator("li.hit").count()

    page.locator("section.facet:has(h3:text('主题')) a", has_text="基层治理").first.click()
    page.wait_for_url("**theme=grassroots**")
    assert 0 < page.locator("li.hit").count() <= before
    assert page.locator("section.facet li.on").count() == 1

    with page.expect_download() as info:
        page.click("a.export")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows and all("老龄化" in r["text"] and "grassroots" in r["themes"] for r in rows)

    page.locator("li.hit a.title").first.click()
    page.wait_for_selector("article.doc")
    focus = page.locator(".s.focus")
    assert focus.count() == 1 and "老龄化" in focus.inner_text() and focus.locator("mark").count() >= 1
    assert focus.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "article.png"), full_page=False)

    page.locator("sup.th a", has_text="人口老龄化").first.click()
    page.wait_for_selector("article.theme-page")
    assert "人口老龄化" in page.locator("h1").inner_text()
    assert page.locator(".col").count() == 3
    page.screenshot(path=str(SCREENSHOTS / "theme.png"), full_page=False)
    assert page.dialogs == []


def test_script_in_a_document_is_text_and_never_runs(server, page):
    page.goto(server + "/?q=script")
    page.wait_for_selector("li.hit")
    assert HOSTILE[0] in page.locator("li.hit a.title").first.inner_text()
    page.locator("li.hit a.title").first.click()
    page.wait_for_selector("article.doc")
    body = page.locator("article.doc").inner_text()
    assert "<script>alert(1)</script>" in body and "onerror=alert(3)" in body
    assert page.locator("article.doc script, article.doc img, article.doc a[href^='javascript']").count() == 0
    page.goto(server + "/?q=" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    page.wait_for_load_state()
    assert page.dialogs == []
