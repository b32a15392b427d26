"""Build a realistic benchmark corpus of a given size from ../shared/corpora.

Copying documents would make every copy a near-duplicate (and a cheap cache hit), so each synthetic
document takes a real document as its skeleton (its lines, headings and paragraph breaks) and replaces
every body sentence with a sentence drawn at random from the pool of all real sentences of the same
genre. The result has real vocabulary, real headings and structure, real sentence lengths, and no two
documents alike. Files are laid out like a real collection: <genre>/<province or city>/<name>.txt.

    python bench/make_corpus.py --mb 100 --out bench/data/corpus-100mb
"""
from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")
HEADING = re.compile(r"^\s*(第[一二三四五六七八九十百]+[章节条]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])")


def templates() -> dict[str, list[tuple[str, str]]]:
    """Real documents by genre: (place hint, text)."""
    out: dict[str, list[tuple[str, str]]] = {"city-reports": [], "regulations": []}
    for p in sorted((SHARED / "city-reports-2024").glob("*.txt")):
        out["city-reports"].append((p.stem, p.read_text(encoding="utf-8")))
    for p in sorted((SHARED / "local-regulations").rglob("*.md")):
        text = p.read_text(encoding="utf-8")
        if len(text) > 500:
            out["regulations"].append((p.parent.name, text))
    return out


def sentence_pool(docs: list[tuple[str, str]]) -> list[str]:
    return [s.strip() for _, text in docs for line in text.splitlines() if not HEADING.match(line)
            for s in SENTENCE.findall(line) if len(s.strip()) >= 8]


def synthesize(template: str, pool: list[str], rng: random.Random) -> str:
    """The template's lines with every body sentence replaced by a random real sentence."""
    lines = []
    for line in template.splitlines():
        if not line.strip() or HEADING.match(line) or len(line) < 30:
            lines.append(line)
            continue
        n = max(1, len(SENTENCE.findall(line)))
        lines.append("".join(rng.choice(pool) for _ in range(n)))
    return "\n".join(lines)


def build(mb: float, out: Path, seed: int = 0) -> Path:
    rng = random.Random(seed)
    genres = templates()
    pools = {g: sentence_pool(docs) for g, docs in genres.items()}
    out.mkdir(parents=True, exist_ok=True)
    target, written, i = mb * 1e6, 0, 0
    while written < target:
        genre = "city-reports" if i % 3 == 0 else "regulations"
        place, template = rng.choice(genres[genre])
        text = synthesize(template, pools[genre], rng)
        folder = out / genre / place
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{place}-{i:06d}.txt"
        path.write_text(text, encoding="utf-8")
        written += path.stat().st_size
        i += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    build(args.mb, args.out, args.seed)
    print(args.out)


if __name__ == "__main__":
    main()
