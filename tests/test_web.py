"""The web page (FastAPI TestClient): pages and JSON twins, escaping, 404s, traversal, headers, caps, CSV."""
from __future__ import annotations

import csv
import io
import sqlite3
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from pipeline.search.query import Searcher
from pipeline.web.app import create_app
from search_fixture import HOSTILE, build_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("web") / "run")


@pytest.fixture(scope="module")
def client(run):
    return TestClient(create_app(run), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def hostile_id(client):
    hits = client.get("/api/search", params={"q": "script"}).json()["result"]["hits"]
    return next(h["doc_id"] for h in hits if h["title"] == HOSTILE[0])


def test_search_page_and_its_json_twin(client):
    page = client.get("/", params={"q": "老龄化"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html; charset=utf-8")
    assert '<html lang="zh-CN">' in page.text and '<meta charset="utf-8">' in page.text
    assert "<mark>老龄化</mark>" in page.text
    data = client.get("/api/search", params={"q": "老龄化"}).json()
    assert data["result"]["total"] == page.text.count('class="hit"') >= 2
    assert {"type", "theme", "year", "source"} <= {f["kind"] for f in data["facets"]}


def test_nothing_found_shows_each_words_count(client):
    page = client.get("/", params={"q": "老龄化 xyzzy"})
    assert "没有找到匹配的句子" in page.text and "只搜“老龄化”：2 个句子" in page.text and "只搜“xyzzy”：0 个句子" in page.text


def test_start_page_lists_themes_and_facets(client):
    page = client.get("/")
    assert page.status_code == 200 and "/theme/aging" in page.text and "人口老龄化" in page.text
    assert "广东省" in page.text and "天津市" in page.text


def test_facet_links_narrow_to_their_count(client):
    data = client.get("/api/search", params={"q": "社区"}).json()
    block = next(f for f in data["facets"] if f["kind"] == "type")
    value = block["values"][0]
    narrowed = client.get("/api/search" + value["href"]).json()
    assert narrowed["result"]["total"] == value["n"] < data["result"]["total"]
    assert parse_qs(urlsplit(value["href"]).query)["type"] == [value["value"]]
    on = next(f for f in narrowed["facets"] if f["kind"] == "type")["values"][0]
    assert on["on"] and "type=" not in on["href"]  # clicking a selected value removes it
    region = next(f for f in data["facets"] if f["kind"] == "province")["values"][0]
    assert client.get("/api/search" + region["href"]).json()["result"]["total"] == region["n"]


def test_paging(client):
    first = client.get("/api/search", params={"q": "发展", "size": 5}).json()
    second = client.get("/api/search", params={"q": "发展", "size": 5, "page": 2}).json()
    assert first["pages"]["next"] and second["pages"]["prev"]
    assert [h["rank"] for h in second["result"]["hits"]] == [6, 7, 8, 9, 10]
    assert not {h["sent_id"] for h in first["result"]["hits"]} & {h["sent_id"] for h in second["result"]["hits"]} \
        or {h["doc_id"] for h in first["result"]["hits"]} != {h["doc_id"] for h in second["result"]["hits"]}


def test_article_page_marks_types_themes_and_focus(client):
    hit = client.get("/api/search", params={"q": "老龄化"}).json()["result"]["hits"][0]
    page = client.get(f"/doc/{hit['doc_id']}", params={"q": "老龄化", "s": hit["sent_id"]})
    assert page.status_code == 200
    assert f'id="s{hit["sent_id"]}" class="s t-problem focus"' in page.text
    assert "<mark>老龄化</mark>" in page.text and 'href="/theme/aging"' in page.text
    assert 'class="t t-measure"' in page.text  # the legend
    data = client.get(f"/api/doc/{hit['doc_id']}", params={"q": "老龄化"}).json()
    focus = next(s for s in data["sentences"] if s["sent_id"] == hit["sent_id"])
    assert focus["type"] == "problem" and "aging" in focus["themes"] and focus["highlights"]


def test_theme_page_by_type_and_region(client):
    page = client.get("/theme/grassroots")
    assert page.status_code == 200 and "基层治理" in page.text
    data = client.get("/api/theme/grassroots").json()
    assert [t["type"] for t in data["types"]] == ["problem", "measure", "experience"]
    measure = data["types"][1]
    assert measure["n"] == sum(r["n"] for r in measure["regions"]) > 0
    assert {r["name"] for r in measure["regions"]} >= {"广东省"}
    assert all(e["type"] == "measure" for r in measure["regions"] for e in r["examples"])


def test_csv_export_of_the_current_results(client):
    response = client.get("/export.csv", params={"q": "社区", "type": "problem"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    total = client.get("/api/search", params={"q": "社区", "type": "problem"}).json()["result"]["total"]
    assert len(rows) == total and all(r["type"] == "problem" and "社区" in r["text"] for r in rows)


@pytest.mark.parametrize("query", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)"])
def test_queries_are_escaped(client, query):
    page = client.get("/", params={"q": query})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert 'value="&#34;&gt;&lt;img' in page.text or "&lt;script&gt;" in page.text or "javascript:alert(1)" in page.text


def test_hostile_documents_show_as_text(client, hostile_id):
    for url in (f"/doc/{hostile_id}", "/?q=script", "/?q=onerror", f"/doc/{hostile_id}?q=javascript"):
        page = client.get(url)
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.text
        assert "<img src=x onerror" not in page.text and 'href="javascript:' not in page.text
        assert "&lt;script&gt;" in page.text or "&lt;/" in page.text
    assert "&lt;b&gt;hostile&lt;/b&gt;" in client.get("/", params={"q": "script"}).text


@pytest.mark.parametrize("url, status", [
    ("/doc/ffffffffffffffff", 404), ("/api/doc/ffffffffffffffff", 404), ("/theme/nosuch", 404),
    ("/api/theme/nosuch", 404), ("/nothing/here", 404), ("/doc/bad.id", 400), ("/theme/a%20b", 400),
])
def test_unknown_ids_are_404_pages(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    if not url.startswith("/api/"):
        assert '<html lang="zh-CN">' in response.text


@pytest.mark.parametrize("url", [
    "/doc/..%2F..%2F..%2Fetc%2Fpasswd", "/doc/%2e%2e%2fsearch.sqlite", "/theme/..%2F..%2Fconfigs",
    "/static/../search.sqlite", "/static/..%2F..%2F..%2Fsearch.sqlite", "/static/%2e%2e/app.py",
    "/api/doc/..%5C..%5Cwindows", "/?q=../../etc/passwd&region=../../etc",
])
def test_path_traversal_is_refused(client, url):
    response = client.get(url)
    assert response.status_code in (200, 400, 404)
    assert "root:" not in response.text and "SQLite format" not in response.text and "def create_app" not in response.text
    if response.status_code == 200:
        assert "unknown region" in response.text  # the query page, with a message


def test_security_headers_everywhere(client):
    for url in ("/", "/?q=社区", "/static/style.css", "/api/search?q=社区", "/export.csv?q=社区", "/nope"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'none'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"


def test_caps_on_query_page_size_and_depth(client):
    long = client.get("/api/search", params={"q": "社区" * 1000})
    assert long.status_code == 200 and "cut to its first" in long.json()["result"]["notices"][0]
    big = client.get("/api/search", params={"q": "发展", "size": 100000}).json()
    assert len(big["result"]["hits"]) == 100
    deep = client.get("/", params={"q": "发展", "page": 10**9})
    assert deep.status_code == 400 and "too deep" in deep.text
    junk = client.get("/api/search", params={"q": "发展", "page": "abc", "size": "-5"})
    assert junk.status_code == 200 and junk.json()["result"]["offset"] == 0
    many = client.get("/api/search", params=[("q", "发展")] + [("type", "problem")] * 500)
    assert many.status_code == 200


def test_bad_filters_give_a_message_not_an_error(client):
    page = client.get("/", params={"q": "社区", "theme": "nosuch"})
    assert page.status_code == 400 and "unknown theme" in page.text and "close matches" in page.text
    api = client.get("/api/search", params={"q": "社区", "region": "火星"})
    assert api.status_code == 400 and "unknown region" in api.json()["error"]
    empty = client.get("/api/search", params={"q": "", "type": "problem"}).json()
    assert empty["result"]["total"] > 0


def test_the_server_opens_the_index_read_only(run):
    searcher = Searcher(run)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        searcher.con.execute("DELETE FROM sent")
