"""How far a format changes the tags: city work reports rendered in another format against their text.

    .venv/bin/python bench/formats_agreement.py [--formats pdf-official docx-wrapped] [--files 10]

No labels are needed: every --files-th report of ../shared/corpora/city-reports-2024 (10 by default) is run
as text, its sentences' types and themes are written as a labels file, the same reports are rendered in
each format (bench/formats_seeds.py's renderers) and run, and the shared scorer compares the two runs. A
format whose ingest keeps the text, its paragraphs and headings agrees on nearly every sentence; one
that loses them (a year written 2023 年, a paragraph broken at each line) does not.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from formats_seeds import RENDER
from loo_seeds import SHARED, scored

from pipeline import load, run


def labels_from_run(out: Path, suffix: str, path: Path) -> None:
    """The run's sentences as a labels file of the scorer, named after the rendered files."""
    docs = load(out, "documents", ["doc_id", "source_path"])
    source = dict(zip(docs["doc_id"], docs["source_path"]))
    with open(path, "w", encoding="utf-8") as fh:
        for s in load(out, "sentences", ["doc_id", "sent_id", "text", "type", "themes"]).itertuples():
            name = f"{Path(source[s.doc_id]).stem}.{suffix}"
            fh.write(json.dumps({"doc": name, "n": int(s.sent_id), "text": s.text, "type": s.type,
                                 "themes": list(s.themes)}, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formats", nargs="+", default=["pdf-official", "docx-wrapped"], choices=list(RENDER))
    ap.add_argument("--files", type=int, default=10, help="how many reports, evenly spread over the folder")
    args = ap.parse_args()
    reports = sorted((SHARED / "corpora" / "city-reports-2024").glob("*.txt"))
    reports = reports[:: max(1, len(reports) // args.files)][: args.files]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "txt").mkdir()
        for p in reports:
            (work / "txt" / p.name).write_bytes(p.read_bytes())
        run(work / "txt", out=work / "out-txt", fresh=True)
        for fmt in args.formats:
            suffix = fmt.split("-")[0]
            folder = work / fmt
            folder.mkdir()
            try:
                for p in reports:
                    RENDER[fmt](p, folder / f"{p.stem}.{suffix}")
            except FileNotFoundError as exc:
                print(f"{fmt:13s} skipped: {exc}", flush=True)
                continue
            run(folder, out=work / f"out-{fmt}", fresh=True)
            labels = work / f"labels-{fmt}.jsonl"
            labels_from_run(work / "out-txt", suffix, labels)
            lines = scored(work / f"out-{fmt}", labels)
            print(f"{fmt:13s} {lines[0]}  {lines[-1]}", flush=True)


if __name__ == "__main__":
    main()
