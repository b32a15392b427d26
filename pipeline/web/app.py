"""The read-only web page of a run: search with facets, articles, theme pages, CSV export.

Server-rendered (FastAPI + Jinja2, autoescape on, no JavaScript), so a strict Content-Security-Policy
holds. Every HTML page has a JSON twin built by the same view function. Parameters are read by hand
and capped (query length, page size, paging depth, values per filter) so bad input gives a page with a
message, never a 422 or a 500; ids are checked against a pattern before any lookup.
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
import re
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.search.export import hit_record, spans, to_csv
from pipeline.search.query import TYPE_NAMES, Filters, QueryError, Searcher

HERE = Path(__file__).resolve().parent
DOC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
THEME_ID = re.compile(r"^[\w-]{1,64}$")
MAX_VALUES = 20          # values per filter parameter
MAX_VALUE_CHARS = 100    # characters per filter value
CSP = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
PARAM_KEYS = ("q", "type", "theme", "region", "year", "source", "page", "size")
FACET_PARAM = {"type": "type", "theme": "theme", "province": "region", "city": "region", "year": "year",
               "source": "source"}
FACET_TITLE = {"type": "类型", "theme": "主题", "province": "省份", "city": "城市", "year": "年份", "source": "来源"}


class BadRequest(Exception):
    """A parameter the user must change (shown as a 400 page with the message)."""


def _int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(value))) if value not in (None, "") else default
    except ValueError:
        return default


def read_params(request: Request, searcher: Searcher) -> dict:
    """Search parameters from the query string, each capped; unknown parameters are ignored."""
    qp = request.query_params
    web = searcher.settings.web

    def values(name: str) -> list[str]:
        return [v[:MAX_VALUE_CHARS] for v in qp.getlist(name) if v.strip()][:MAX_VALUES]

    return {"q": qp.get("q", "")[: searcher.settings.query.max_chars * 4],
            "type": values("type"), "theme": values("theme"), "region": values("region"),
            "year": qp.get("year", "")[:20], "source": values("source"),
            "page": _int(qp.get("page"), 1, 1, 10**6),
            "size": _int(qp.get("size"), web.page_size, 1, web.max_page_size)}


def query_string(params: dict, **change) -> str:
    """?a=b&... of the params with some replaced; page resets to 1 unless given."""
    merged = {**params, "page": 1, **change}
    pairs = []
    for key in ("q", "type", "theme", "region", "year", "source", "page", "size"):
        value = merged.get(key)
        for v in value if isinstance(value, list) else [value]:
            if v not in (None, "") and not (key == "page" and v == 1):
                pairs.append((key, v))
    return "?" + urlencode(pairs)


def resolve(searcher: Searcher, params: dict) -> Filters:
    return searcher.filters(params["type"], params["theme"], params["region"], params["year"] or None,
                            params["source"])


def facet_view(searcher: Searcher, params: dict, counts: dict, filters: Filters) -> list[dict]:
    """Facet blocks: the top values with counts and a link that narrows (or widens, when selected)."""
    selected = {"type": filters.types, "theme": filters.themes, "province": filters.regions,
                "city": filters.regions, "year": [str(y) for y in filters.years] if params["year"] else [],
                "source": filters.sources}
    blocks = []
    for kind in ("type", "theme", "province", "city", "year", "source"):
        items = sorted((counts.get(kind) or {}).items(), key=lambda kv: (-kv[1], kv[0]))
        if kind == "year":
            items = sorted(items, key=lambda kv: kv[0], reverse=True)
        rows = []
        for value, n in items[: searcher.settings.web.facet_values]:
            on = value in selected[kind]
            param = FACET_PARAM[kind]
            new = [] if on else [value]
            if kind == "year":
                new = "" if on else value
            label = {"type": lambda v: TYPE_NAMES.get(v, v), "theme": searcher.theme_name,
                     "province": searcher.region_name, "city": searcher.region_name}.get(kind, str)(value)
            rows.append({"value": value, "label": label or value, "n": n, "on": on,
                         "href": query_string(params, **{param: new})})
        if rows:
            blocks.append({"kind": kind, "title": FACET_TITLE[kind], "values": rows})
    return blocks


def doc_href(doc_id: str, q: str, sent_id: int) -> str:
    """Link to a sentence in its article: the query is carried for highlighting, the anchor scrolls."""
    args = {"q": q, "s": sent_id} if q.strip() else {"s": sent_id}
    return f"/doc/{quote(doc_id, safe='')}?{urlencode(args)}#s{sent_id}"


def search_view(searcher: Searcher, params: dict) -> dict:
    """The search page's data: results, facets and pages (or the overview when nothing is asked)."""
    web = searcher.settings.web
    view = {"params": params, "error": None, "result": None, "facets": [], "facets_approximate": False,
            "pages": None, "overview": None, "export_href": None}
    try:
        filters = resolve(searcher, params)
        if not params["q"].strip() and not filters.any():
            view["overview"] = searcher.overview()
            view["facets"] = facet_view(searcher, params, searcher.facets("", filters), filters)
            return view
        offset = (params["page"] - 1) * params["size"]
        if offset > web.max_offset:
            raise BadRequest(f"page {params['page']} is too deep (results beyond {web.max_offset} are not listed): "
                             "narrow the search with more words or a facet")
        result = searcher.search(params["q"], filters, limit=params["size"], offset=offset)
        counts = searcher.facets(params["q"], filters)
        view["facets"] = facet_view(searcher, params, counts, filters)
        view["facets_approximate"] = counts["approximate"]
    except (QueryError, BadRequest) as exc:
        view["error"] = str(exc)
        return view
    for hit in result["hits"]:
        hit["href"] = doc_href(hit["doc_id"], params["q"], hit["sent_id"])
    last = max(1, min(math.ceil((result["total"] or 0) / params["size"]), web.max_offset // params["size"] + 1))
    view["result"] = result
    view["pages"] = {"page": params["page"], "last": last,
                     "prev": query_string(params, page=params["page"] - 1) if params["page"] > 1 else None,
                     "next": query_string(params, page=params["page"] + 1) if params["page"] < last else None}
    view["export_href"] = "/export.csv" + query_string(params)
    return view


def search_json(view: dict) -> dict:
    out = {k: v for k, v in view.items() if k not in ("result",)}
    if view["result"]:
        out["result"] = {**view["result"], "hits": [hit_record(h) for h in view["result"]["hits"]]}
    return out


def doc_json(doc: dict) -> dict:
    sentences = [{**{k: v for k, v in s.items() if k != "segments"}, "highlights": spans(s["segments"])}
                 for s in doc["sentences"]]
    return {**doc, "sentences": sentences}


def create_app(run_dir: str | Path) -> FastAPI:
    """The web app of one run (the index is built first when missing or stale)."""
    searcher = Searcher(run_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        """Few handler threads: the handlers are CPU-bound Python, so many threads only fight over the GIL."""
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = searcher.settings.web.threads
        yield

    app = FastAPI(title="zhili", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals.update(TYPE_NAMES=TYPE_NAMES, run_name=Path(run_dir).name,
                       facet_sample=searcher.settings.query.facet_sample)
    templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def not_found(request: Request, message: str, status: int = 404) -> Response:
        if request.url.path.startswith("/api/"):
            response = JSONResponse({"error": message}, status_code=status)
        else:
            response = page(request, "error.html", {"status": status, "message": message}, status)
        response.headers.update(SECURITY_HEADERS)  # also on 500s, which bypass the middleware
        return response

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = "页面不存在 (page not found)" if exc.status_code == 404 else str(exc.detail)
        return not_found(request, message, exc.status_code)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        return not_found(request, "内部错误 (internal error): the problem was logged", 500)

    @functools.lru_cache(maxsize=searcher.settings.web.cache_entries)
    def cached_view(key: tuple) -> dict:
        """The index is read-only while served, so a view of the same parameters never changes."""
        return search_view(searcher, dict(zip(PARAM_KEYS, (list(v) if isinstance(v, tuple) else v for v in key))))

    def view_of(request: Request) -> dict:
        params = read_params(request, searcher)
        return cached_view(tuple(tuple(params[k]) if isinstance(params[k], list) else params[k] for k in PARAM_KEYS))

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        view = view_of(request)
        return page(request, "search.html", dict(view), 400 if view["error"] else 200)  # the template adds keys

    @app.get("/api/search")
    def api_search(request: Request):
        view = view_of(request)
        return JSONResponse(search_json(view), status_code=400 if view["error"] else 200)

    @app.get("/export.csv")
    def export_csv(request: Request):
        params = read_params(request, searcher)
        try:
            filters = resolve(searcher, params)
            result = searcher.search(params["q"], filters, limit=searcher.settings.web.export_max_rows, total=False)
        except QueryError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return Response(to_csv(result["hits"]).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="zhili-search.csv"'})

    def doc_view(request: Request, doc_id: str) -> dict | Response:
        if not DOC_ID.match(doc_id):
            return not_found(request, "无效的文章编号 (invalid article id)", 400)
        q = request.query_params.get("q", "")[: searcher.settings.query.max_chars]
        doc = searcher.document(doc_id, q)
        if doc is None:
            return not_found(request, f"没有这篇文章 (no article {doc_id})")
        doc["focus"] = _int(request.query_params.get("s"), -1, -1, 10**7)
        doc["q"] = q
        return doc

    @app.get("/doc/{doc_id}", response_class=HTMLResponse)
    def document(request: Request, doc_id: str):
        doc = doc_view(request, doc_id)
        return doc if isinstance(doc, Response) else page(request, "doc.html", {"doc": doc})

    @app.get("/api/doc/{doc_id}")
    def api_document(request: Request, doc_id: str):
        doc = doc_view(request, doc_id)
        return doc if isinstance(doc, Response) else JSONResponse(doc_json(doc))

    def theme_view(request: Request, theme_id: str) -> dict | Response:
        if not THEME_ID.match(theme_id):
            return not_found(request, "无效的主题编号 (invalid theme id)", 400)
        theme = searcher.theme(theme_id)
        return theme if theme is not None else not_found(request, f"没有这个主题 (no theme {theme_id})")

    @app.get("/theme/{theme_id}", response_class=HTMLResponse)
    def theme(request: Request, theme_id: str):
        view = theme_view(request, theme_id)
        return view if isinstance(view, Response) else page(request, "theme.html", {"theme": view})

    @app.get("/api/theme/{theme_id}")
    def api_theme(request: Request, theme_id: str):
        view = theme_view(request, theme_id)
        return view if isinstance(view, Response) else JSONResponse(view)

    return app


RUN_ENV = "ZHILI_SERVE_RUN"


def app_from_env() -> FastAPI:
    """App factory for uvicorn's worker processes, which import the app by name: the run comes from the env."""
    return create_app(os.environ[RUN_ENV])


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None) -> None:
    """Run the web page with uvicorn (blocking); several worker processes share the port."""
    import uvicorn

    web = Searcher(run_dir).settings.web  # builds a missing index once, here (workers must not race), and
    # fails now with a message on a run that cannot be opened
    os.environ[RUN_ENV] = str(Path(run_dir).resolve())
    n = workers or web.workers
    print(f"zhili: serving {run_dir} on http://{host}:{port}/ with {n} worker process(es) (Ctrl+C to stop)",
          flush=True)
    uvicorn.run(f"{__name__}:app_from_env", factory=True, host=host, port=port, workers=n, backlog=web.backlog,
                timeout_keep_alive=web.keep_alive_seconds, log_level="warning")
