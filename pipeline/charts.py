"""Charts of comparisons (matplotlib, Agg backend), drawn with a CJK font so Chinese labels never become boxes.

Three charts: a theme x group heatmap, theme prevalence over years (lines), and problem / measure /
experience stacked bars per theme. Each writes PNG or SVG by the file suffix, or returns PNG bytes.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from pipeline.compare import BELOW_MIN_MARK, TOTAL, UNKNOWN, Comparison, format_value  # noqa: E402

CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Droid Sans Fallback")
FORMATS = (".png", ".svg")
TYPE_COLOURS = {"problem": "#d9534f", "measure": "#3b7dd8", "experience": "#3aa657"}
TYPE_NAMES = {"problem": "问题 problem", "measure": "措施 measure", "experience": "经验 experience"}


class ChartError(RuntimeError):
    """A chart cannot be drawn (no CJK font, unknown format); the message says what to do."""


def _cjk_family(names: set[str]) -> str | None:
    for family in CJK_FAMILIES:
        if family in names:
            return family
    others = sorted(n for n in names if "CJK" in n and "Mono" not in n)
    return others[0] if others else None


def _register_system_fonts() -> set[str]:
    """Add the system's font files that matplotlib's cached list lacks (a font installed after the cache
    in ~/.cache/matplotlib was built is otherwise invisible until that cache is deleted); their names."""
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return {f.name for f in font_manager.fontManager.ttflist}


def cjk_font() -> str:
    """The family name of an installed CJK font, preferring Noto Sans CJK SC (Debian fonts-noto-cjk).

    Raises instead of falling back, because a fallback draws every Chinese label as an empty box.
    """
    family = (_cjk_family({f.name for f in font_manager.fontManager.ttflist})
              or _cjk_family(_register_system_fonts()))
    if family is None:
        raise ChartError("no CJK font found for the charts: install one with `apt-get install fonts-noto-cjk`")
    return family


def _style() -> dict:
    return {"font.family": "sans-serif", "font.sans-serif": [cjk_font(), "DejaVu Sans"],
            "axes.unicode_minus": False, "svg.fonttype": "path", "figure.dpi": 100}


def render(draw: Callable[[], Figure], out: str | Path | None = None) -> bytes | Path:
    """Draw a figure with the CJK style; write it to `out` (.png/.svg) or return PNG bytes."""
    suffix = Path(out).suffix.lower() if out is not None else ".png"
    if suffix not in FORMATS:
        raise ChartError(f"unknown chart format {suffix!r} for {out}: use a .png or .svg file name")
    with plt.rc_context(_style()):
        fig = draw()
        try:
            if out is None:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
                return buf.getvalue()
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(out, dpi=130, bbox_inches="tight")
            return Path(out)
        finally:
            plt.close(fig)


def _top(comp: Comparison, max_themes: int, max_groups: int) -> pd.DataFrame:
    """The normalised matrix without totals, largest themes and groups only, with display labels."""
    m = comp.matrix.drop(index=TOTAL, columns=TOTAL)
    m = m.loc[list(m.index[:max_themes])]
    if comp.by != "year":
        m = m[list(m.columns[:max_groups])]
    m.index = [comp.theme_label(t) for t in m.index]
    m.columns = [comp.group_label(g) for g in m.columns]
    return m


def heatmap(comp: Comparison, out: str | Path | None = None, max_themes: int = 15, max_groups: int = 40):
    """Theme x group heatmap of a comparison's normalised values, annotated when small enough to read."""
    m = _top(comp, max_themes, max_groups)

    def draw() -> Figure:
        w = min(2.5 + 0.55 * max(len(m.columns), 1), 30)
        h = 1.8 + 0.42 * max(len(m.index), 1)
        fig, ax = plt.subplots(figsize=(w, h))
        values = m.to_numpy(dtype=float)
        im = ax.imshow(np.nan_to_num(values), cmap="YlOrRd", aspect="auto")
        ax.set_xticks(range(len(m.columns)), m.columns, rotation=60, ha="right")
        ax.set_yticks(range(len(m.index)), m.index)
        if values.size <= 600:
            top = np.nanmax(values) if values.size and not np.all(np.isnan(values)) else 0
            for (i, j), v in np.ndenumerate(values):
                ax.text(j, i, format_value(v, comp.normalize), ha="center", va="center", fontsize=7,
                        color="white" if top and v > 0.6 * top else "black")
        fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label=comp.normalize)
        ax.set_title(f"主题 × {comp.by}（{comp.normalize}）")
        fig.tight_layout()
        return fig

    return render(draw, out)


def trend(comp: Comparison, out: str | Path | None = None, max_themes: int = 8):
    """Theme prevalence over years, one line per theme (a comparison by year)."""
    if comp.by != "year":
        raise ChartError("the trend chart needs a comparison by year (compare --by year)")
    m = _top(comp, max_themes, 10_000)
    known = [i for i, g in enumerate(comp.matrix.columns.drop(TOTAL)) if g != UNKNOWN]
    m = m.iloc[:, known]
    years = [int(str(c).rstrip(BELOW_MIN_MARK)) for c in m.columns]

    def draw() -> Figure:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for theme, row in m.iterrows():
            ax.plot(years, row.to_numpy(dtype=float), marker="o", label=theme)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("年份 year")
        ax.set_ylabel(comp.normalize)
        ax.set_title("主题随年份变化")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        return fig

    return render(draw, out)


def type_bars(counts: pd.DataFrame, out: str | Path | None = None, max_themes: int = 15):
    """Stacked horizontal bars per theme: sentences that report it as problem, measure, experience."""
    counts = counts.head(max_themes).iloc[::-1]

    def draw() -> Figure:
        fig, ax = plt.subplots(figsize=(8, 1.5 + 0.4 * max(len(counts), 1)))
        left = np.zeros(len(counts))
        for col in ("problem", "measure", "experience"):
            vals = counts[col].to_numpy(dtype=float) if col in counts else np.zeros(len(counts))
            ax.barh(list(counts.index), vals, left=left, color=TYPE_COLOURS[col], label=TYPE_NAMES[col])
            left += vals
        ax.set_xlabel("句子数 sentences")
        ax.set_title("各主题的问题 / 措施 / 经验")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        return fig

    return render(draw, out)
