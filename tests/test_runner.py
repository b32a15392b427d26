"""The run as a whole: tables, determinism, cache, executors, crashes."""
from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pyarrow.dataset as ds
import pytest

import pipeline
from pipeline import stages, tables
from pipeline.cache import PACKAGE_DIR
from pipeline.runner import PipelineError
from pipeline.config import PROJECT_ROOT, load_config

SAMPLE = PROJECT_ROOT / "corpora" / "sample"
SEEDS = SAMPLE / "seeds"
CITY = SAMPLE / "city-reports-2024"


def content_hashes(run: Path) -> dict[str, str]:
    """Hash of every table's rows in order (part layout and run.json timings aside)."""
    out = {}
    for name in tables.SCHEMAS:
        t = tables.read_table(run, name)
        out[name] = hashlib.sha256(json.dumps(t.to_pylist(), ensure_ascii=False, default=str).encode()).hexdigest()
    return out


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "seeds"
    summary = pipeline.run(SEEDS, out=out, jobs=1, cache_dir=str(out.parent / "cache"))
    return out, summary


def test_stage_wiring_is_checked_before_reading():
    stages.check_stages()
    broken = (stages.Stage("annotate", "file", needs=("sentences.text",), adds=("sentences.type",)),)
    with pytest.raises(PipelineError, match="annotate"):
        stages.check_stages(broken)


#: modules a stage's code imports that compute nothing of its results: the configuration (its values are
#: hashed instead), the cache, the table contract, the stage list, and the spaCy Doc path (not the batch run)
NOT_COMPUTING = {"config.py", "cache.py", "tables.py", "stages.py", "spacy_pipeline.py"}
#: (importer, imported) pairs that belong to other commands: `zhili evaluate`'s themes cross-validation, and
#: the run-level discovery stage, which has its own key
OTHER_COMMANDS = {("tagger.py", "themes.py"), ("themes.py", "discover.py")}


def _pipeline_imports(path: Path) -> set[str]:
    """File names (relative to pipeline/) of the pipeline modules a module imports, lazily or not."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    found = set()
    for name in names:
        parts = name.split(".")
        for candidate in (PACKAGE_DIR.joinpath(*parts[1:]).with_suffix(".py"), PACKAGE_DIR.joinpath(*parts[1:], "__init__.py")):
            if parts[0] == "pipeline" and len(parts) > 1 and candidate.is_file():
                found.add(str(candidate.relative_to(PACKAGE_DIR)))
    return found


def test_each_stage_key_hashes_the_modules_its_code_imports():
    """A stage's cache key hashes its modules (Stage.code): a module they import must be among them, or
    editing it would leave stale results in the cache (nfkc.py was missing from three stages). work.py, in
    the ingest key, runs every stage: its imports are the other stages'."""
    for stage in stages.STAGES:
        listed = {str(p.relative_to(PACKAGE_DIR)) for pattern in stage.code for p in PACKAGE_DIR.glob(pattern)}
        for module in sorted(listed - {"work.py"}):
            missing = {m for m in _pipeline_imports(PACKAGE_DIR / module) - listed - NOT_COMPUTING
                       if (module, m) not in OTHER_COMMANDS}
            assert not missing, f"stage {stage.name}: {module} imports {sorted(missing)}, not in its code list"


def test_seeds_run_writes_every_table(seeds_run):
    out, summary = seeds_run
    for name in tables.SCHEMAS:
        assert tables.table_path(out, name) is not None, name
        assert tables.read_table(out, name).schema.equals(tables.SCHEMAS[name], check_metadata=False)
    docs = tables.load(out, "documents")
    assert len(docs) == 20 and summary.articles == 20
    info = tables.read_run_info(out)
    assert info["counts"]["articles"] == 20 and info["versions"]["python"]


def test_offsets_slice_to_sentence_text(seeds_run):
    out, _ = seeds_run
    text = dict(zip(*tables.load(out, "documents", ["doc_id", "text"]).to_dict("list").values()))
    sents = tables.load(out, "sentences")
    assert len(sents) > 1000
    for row in sents.itertuples():
        assert text[row.doc_id][row.start:row.end] == row.text


def test_every_sentence_is_tagged(seeds_run):
    out, _ = seeds_run
    sents = tables.load(out, "sentences")
    assert set(sents["type"]) <= set(tables.TYPES)
    assert sents["type_score"].between(0, 1).all()
    assert sents["method"].isin(["rule", "model", "both"]).all()


def test_rerun_is_cached_and_identical(seeds_run, tmp_path):
    out, first = seeds_run
    again = pipeline.run(SEEDS, out=tmp_path / "again", jobs=1, cache_dir=str(out.parent / "cache"))
    assert again.files_cached == again.files == first.files
    assert content_hashes(out) == content_hashes(tmp_path / "again")


def test_changed_file_reprocesses_that_file_alone(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CITY, corpus)
    cache = str(tmp_path / "cache")
    first = pipeline.run(corpus, out=tmp_path / "a", jobs=1, cache_dir=cache)
    path = corpus / "天津.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n社区工作者队伍不稳定，待遇偏低。", encoding="utf-8")
    second = pipeline.run(corpus, out=tmp_path / "b", jobs=1, cache_dir=cache)
    assert second.files_cached == first.files - 1


def test_unsupported_files_are_listed_and_the_run_is_still_cached(tmp_path):
    """A .pptx or .caj in the folder is not read, but is an errors row saying what to do; those rows are
    the same on every run, so the rerun still comes whole from the cache, and a new one is noticed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CITY / "天津.txt", corpus)
    (corpus / "旧报告.pptx").write_bytes(b"PK\x03\x04")
    (corpus / "论文.caj").write_bytes(b"CAJ")
    (corpus / "照片.jpg").write_bytes(b"\xff\xd8\xff")
    cache = str(tmp_path / "cache")
    first = pipeline.run(corpus, out=tmp_path / "a", jobs=1, cache_dir=cache)
    errors = tables.load(tmp_path / "a", "errors").sort_values("source_path")
    assert first.articles == 1 and errors["source_path"].tolist() == ["旧报告.pptx", "论文.caj"]
    assert (errors["stage"] == "discover").all() and errors["hint"].str.contains("docx|PDF").all()
    again = pipeline.run(corpus, out=tmp_path / "b", jobs=1, cache_dir=cache)
    assert again.run_cached and content_hashes(tmp_path / "a") == content_hashes(tmp_path / "b")
    (corpus / "新方案.ofd").write_bytes(b"PK")
    third = pipeline.run(corpus, out=tmp_path / "c", jobs=1, cache_dir=cache)
    assert not third.run_cached and third.files_cached == 1 and len(tables.load(tmp_path / "c", "errors")) == 3
    (corpus / "材料.rar").write_bytes(b"Rar!")  # an archive was passed over in silence, documents and all
    with zipfile.ZipFile(corpus / "调研报告.zip", "w") as zf:  # a .zip's documents are read
        zf.write(CITY / "北京.txt", "北京.txt")
    fourth = pipeline.run(corpus, out=tmp_path / "d", jobs=1, cache_dir=cache)
    errors = tables.load(tmp_path / "d", "errors").set_index("source_path")
    assert "解压" in errors.loc["材料.rar", "hint"] and len(errors) == 4
    docs = tables.load(tmp_path / "d", "documents")
    assert fourth.articles == 2 and sorted(docs["source_path"]) == ["天津.txt", "调研报告.zip/北京.txt"]


def one_file_batches():
    """The default config with one file per batch: every file is its own work unit and part file."""
    cfg = load_config()
    cfg.run.batch_files = 1
    return cfg


def test_jobs_one_and_two_give_identical_tables(tmp_path):
    """Two workers give the tables of one; the run node loads (or trains) the models before they start."""
    cache1, cache2 = str(tmp_path / "c1"), str(tmp_path / "c2")
    pipeline.run(CITY, out=tmp_path / "j1", jobs=1, cache_dir=cache1, config=one_file_batches())
    pipeline.run(CITY, out=tmp_path / "j2", jobs=2, cache_dir=cache2, config=one_file_batches())
    assert content_hashes(tmp_path / "j1") == content_hashes(tmp_path / "j2")
    assert "models" not in tables.read_run_info(tmp_path / "j1")["timings"]
    assert "models" in tables.read_run_info(tmp_path / "j2")["timings"]


def test_models_are_trained_on_the_run_node_into_the_workers_cache(tmp_path):
    """With an empty model cache the run node trains the tagger and the theme model once, where the
    workers then find them (instead of each training its own)."""
    from pipeline.runner import _train_models

    cfg = load_config()
    cfg.annotate.model_cache = cfg.themes.model_cache = str(tmp_path / "models")
    _train_models(cfg)
    assert len(list((tmp_path / "models").glob("tagger-*.npz"))) == 1
    assert len(list((tmp_path / "models").glob("themes-*"))) >= 1


def test_duplicates_across_batches_are_marked_and_left_out_of_theme_counts(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    for name, source in (("a.txt", "天津.txt"), ("b.txt", "北京.txt"), ("c.txt", "天津.txt")):
        shutil.copy(CITY / source, corpus / name)
    summary = pipeline.run(corpus, out=out, jobs=2, cache_dir=str(tmp_path / "c"), config=one_file_batches())
    assert summary.duplicates == 1
    assert sorted(p.name for p in (out / "sentences").glob("*.parquet")) == [f"part-{i:05d}.parquet" for i in range(3)]
    docs = tables.load(out, "documents").set_index("source_path")
    assert docs.loc["c.txt", "duplicate_of"] == docs.loc["a.txt", "doc_id"]
    assert docs["duplicate_of"].isna().sum() == 2
    originals = {docs.loc["a.txt", "doc_id"], docs.loc["b.txt", "doc_id"]}
    doc_themes = tables.load(out, "doc_themes")
    assert set(doc_themes["doc_id"]) == originals
    links = tables.load(out, "sentence_themes")
    themes = tables.load(out, "themes").set_index("theme_id")
    seeded = themes[themes["kind"] == "seeded"]
    counted = links[links["doc_id"].isin(originals) & links["theme_id"].isin(seeded.index)]
    assert int(seeded["n_sentences"].sum()) == len(counted) > 0
    assert (seeded["n_documents"] <= 2).all()
    assert all(len(e) <= 3 for e in seeded["examples"])


def test_nothing_readable_is_a_clear_error_and_keeps_previous_outputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_bytes(b"")
    with pytest.raises(PipelineError, match="none of the 1 files"):
        pipeline.run(empty, out=tmp_path / "out", cache_dir=str(tmp_path / "c"))
    assert not (tmp_path / "out").exists()


def test_a_run_never_replaces_what_is_not_a_run(tmp_path):
    """A run replaces its output folder whole: given the corpus itself, a folder of notes or a file as
    --out, it deleted them. It is refused before anything is read; an empty folder or a previous run's
    folder is written as before."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE / "city-reports-2024" / "天津.txt", corpus / "天津.txt")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "要点.txt").write_text("重要", encoding="utf-8")
    (tmp_path / "report.xlsx").write_bytes(b"PK")
    for out, why in ((corpus, "holds files but no zhili run"), (notes, "holds files but no zhili run"),
                     (tmp_path, "holds files but no zhili run"), (tmp_path / "report.xlsx", "is a file")):
        with pytest.raises(PipelineError, match=why):
            pipeline.run(corpus, out=out, cache_dir=str(tmp_path / "c"), jobs=1)
    assert (corpus / "天津.txt").exists() and (notes / "要点.txt").read_text(encoding="utf-8") == "重要"
    assert (tmp_path / "report.xlsx").read_bytes() == b"PK"
    (tmp_path / "empty").mkdir()
    for _ in range(2):  # an empty folder, then the run it now holds
        assert pipeline.run(corpus, out=tmp_path / "empty", cache_dir=str(tmp_path / "c"), jobs=1).articles == 1


def test_an_empty_folder_or_one_of_unread_types_is_a_clear_error(tmp_path):
    """Both ended in a pandas traceback ("No objects to concatenate") before any message."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PipelineError, match=r"no input files found in .*empty: zhili reads \.txt"):
        pipeline.run(empty, out=tmp_path / "out", cache_dir=str(tmp_path / "c"))
    (empty / "汇报.pptx").write_bytes(b"PK")
    with pytest.raises(PipelineError, match=r"no file in .* is of a type zhili reads \(1 errors, first: 汇报\.pptx: "
                                            r"\.pptx files are not read -> export it as PDF"):
        pipeline.run(empty, out=tmp_path / "out", cache_dir=str(tmp_path / "c"))
    assert not (tmp_path / "out").exists()


def test_bad_files_become_error_rows_and_good_ones_are_processed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CITY / "天津.txt", corpus)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    summary = pipeline.run(corpus, out=tmp_path / "out", jobs=1, cache_dir=str(tmp_path / "c"))
    errors = tables.load(tmp_path / "out", "errors")
    assert set(errors["source_path"]) == {"empty.txt", "binary.txt", "broken.docx"}
    assert errors["hint"].str.len().gt(0).all()
    assert summary.articles == 1


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_tables(tmp_path):
    pipeline.run(CITY, out=tmp_path / "local", jobs=1, cache_dir=str(tmp_path / "c1"))
    pipeline.run(CITY, out=tmp_path / "dask", executor="dask-local", jobs=2, cache_dir=str(tmp_path / "c2"))
    assert content_hashes(tmp_path / "local") == content_hashes(tmp_path / "dask")


@pytest.mark.slow
def test_dask_run_survives_a_killed_worker(tmp_path):
    """Kill one worker process mid-run: its tasks are retried elsewhere and no document is lost."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    try:
        client = Client(cluster)
        pids = list(client.run(os.getpid).values())
        import threading

        done, killed_mid_run = threading.Event(), threading.Event()

        def kill_once_working():  # once the first batch has written its part files, not after a guessed delay
            deadline = time.monotonic() + 300
            while not any(tmp_path.rglob("part-*.parquet")) and time.monotonic() < deadline and not done.is_set():
                time.sleep(0.05)
            if not done.is_set():
                os.kill(pids[0], signal.SIGKILL)
                killed_mid_run.set()

        killer = threading.Thread(target=kill_once_working, daemon=True)
        killer.start()
        summary = pipeline.run(CITY, out=tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address,
                               cache_dir=str(tmp_path / "c"))
        done.set()
        killer.join()
        client.close()
    finally:
        cluster.close()
    assert killed_mid_run.is_set(), "the run ended before a worker could be killed: the test tested nothing"
    assert summary.files == len(list(CITY.glob("*.txt")))
    docs = tables.load(tmp_path / "dask", "documents")
    assert len(docs) == summary.files


@pytest.mark.slow
def test_sigkill_at_random_moments_never_corrupts_previous_outputs(tmp_path):
    """Kill `zhili run` with SIGKILL 20 times; the previous run stays intact and a rerun completes."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(CITY), "--out", str(out), "--jobs", "1"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run(cmd + ["--cache-dir", str(tmp_path / "c0")], check=True, env=env, cwd=PROJECT_ROOT,
                   capture_output=True)
    before = content_hashes(out)
    rng = random.Random(0)
    for i in range(20):
        proc = subprocess.Popen(cmd + ["--cache-dir", str(tmp_path / f"c{i % 3 + 1}")], env=env, cwd=PROJECT_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert content_hashes(out) == before, f"outputs changed after kill {i}"
        ds.dataset(str(tables.table_path(out, "sentences")), format="parquet").to_table()
    done = subprocess.run(cmd + ["--cache-dir", str(tmp_path / "c1")], env=env, cwd=PROJECT_ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert content_hashes(out) == before


def test_config_errors_name_file_and_key(tmp_path):
    from pipeline.config import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("structure:\n  max_sentence_chars: many\ningest:\n  colections: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    msg = str(err.value)
    assert str(bad) in msg and "structure.max_sentence_chars" in msg and "ingest.colections: unknown key" in msg
    bad.write_text("boilerplate:\n  line_patterns: ['([']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"boilerplate.line_patterns.*bad regular expression"):
        load_config(bad)


@pytest.mark.parametrize("compression", ["none", "lz4", "zstd"])
def test_cache_bundles_round_trip_with_each_compression(tmp_path, compression):
    import pyarrow as pa

    from pipeline.cache import StageCache

    text = "社区工作者疲于应付各类检查评比考核。" * 200
    table = pa.table({"doc_id": ["a", "b"], "text": [text, text[:50]]})
    cache = StageCache(str(tmp_path / compression), compression)
    cache.save("ab" + "0" * 38, {"sentences": table}, {"errors": [{"stage": "x"}]})
    found, meta = cache.load("ab" + "0" * 38)
    assert found["sentences"].equals(table) and meta == {"errors": [{"stage": "x"}]}
    size = (tmp_path / compression / "ab" / ("ab" + "0" * 38 + ".arrow")).stat().st_size
    assert (size > len(text.encode())) == (compression == "none")


def test_theme_frames_fold_in_batch_order_whatever_the_arrival_order():
    """The run node folds the workers' frames as they arrive; the result is the in-order concatenation."""
    import pandas as pd

    from pipeline.runner import ThemeFrames
    from pipeline.themes import theme_examples
    from pipeline.work import BatchResult

    def result(i):
        doc_themes = pd.DataFrame({"doc_id": [f"d{i}"], "theme_id": ["admin_burden"], "n_sentences": [i + 1]})
        examples = pd.DataFrame({"theme_id": ["admin_burden"] * 2, "score": [i / 10, 0.5],
                                 "text": [f"句子{i}", f"共同句子{i % 3}"]})
        return BatchResult(i, [], doc_themes, examples)

    expected = [result(i) for i in range(11)]
    frames = ThemeFrames(every=3)
    for i in [4, 0, 2, 1, 3, 7, 5, 10, 6, 9, 8]:
        frames.add(result(i))
        if i == 1:
            assert set(frames.pending) == {4}  # batches 0-2 folded as soon as all three were in
    doc_themes, examples = frames.finish()
    assert not frames.pending
    assert pd.concat(doc_themes, ignore_index=True).equals(pd.concat([r.doc_themes for r in expected], ignore_index=True))
    assert theme_examples(pd.concat(examples)).equals(theme_examples(pd.concat([r.examples for r in expected])))


def test_a_worker_with_stored_models_imports_neither_sklearn_nor_spacy(tmp_path):
    """Worker start-up: scikit-learn (fitting only) and spaCy (Doc building only) cost 3 s per worker;
    the per-file stages must not need them once the models are stored."""
    script = f"""
import sys
from pathlib import Path
from pipeline.config import load_config
from pipeline.runner import _tasks
from pipeline.work import process_batch
cfg = load_config()
corpus = Path({str(CITY)!r})
tasks = _tasks(corpus, corpus, cfg, [])[:1]
(Path({str(tmp_path)!r}) / "run").mkdir(exist_ok=True)
process_batch((0, tasks), str(corpus), cfg, {str(tmp_path / "cache")!r} + sys.argv[1], {str(tmp_path / "run")!r})
print(sorted(m for m in ("sklearn", "spacy") if m in sys.modules))
"""
    runs = [subprocess.run([sys.executable, "-c", script, str(i)], capture_output=True, text=True, timeout=300)
            for i in range(2)]  # the first run may train and store the models
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout.strip().splitlines()[-1] == "[]"


def test_quiet_collector_restores_the_collector_even_on_error():
    import gc

    from pipeline.work import quiet_collector

    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with quiet_collector(young=12_345):
            assert gc.get_threshold()[0] == 12_345 and gc.get_freeze_count() > 0
            raise RuntimeError("a failing batch")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_folder_chrome_is_remembered_by_its_sampled_bytes(tmp_path, monkeypatch):
    """A rerun reads each folder's sampled bytes but decodes none of them; a changed sample relearns."""
    from pipeline import ingest
    from pipeline.cache import StageCache
    from pipeline.runner import _tasks

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(4):
        (corpus / f"{i}.txt").write_text(f"某某市政务网欢迎您\n第{i}篇正文，加强社区治理，第{i}次会议。\n", encoding="utf-8")
    cfg, cache = load_config(), StageCache(str(tmp_path / "cache"))
    first = _tasks(corpus, corpus, cfg, [], cache)
    learned = ingest.source_chrome

    def must_not_learn(*args, **kwargs):
        raise AssertionError("chrome relearned for an unchanged folder")

    monkeypatch.setattr(ingest, "source_chrome", must_not_learn)
    again = _tasks(corpus, corpus, cfg, [], cache)
    assert [t.chrome for t in again] == [t.chrome for t in first] and "某某市政务网欢迎您" in first[0].chrome
    assert [t.keys for t in again] == [t.keys for t in first]
    calls = []
    monkeypatch.setattr(ingest, "source_chrome", lambda *a, **k: calls.append(1) or learned(*a, **k))
    (corpus / "0.txt").write_text("某某市政务网欢迎您\n改过的正文。\n", encoding="utf-8")
    assert "某某市政务网欢迎您" in _tasks(corpus, corpus, cfg, [], cache)[0].chrome and calls == [1]


def test_a_report_reads_the_same_as_txt_rtf_odt_and_xls(tmp_path):
    """One work report saved four ways (plain text, RTF in GBK escapes, OpenDocument, a one-row .xls):
    the same sentences, tagged the same, whatever the container."""
    import xlwt
    import zipfile
    from xml.sax.saxutils import escape

    text = (CITY / "天津.txt").read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if line.strip()]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "天津.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    gbk = "".join("".join(f"\\'{b:02x}" for b in line.encode("gbk")) + "\\par\n" for line in lines)
    (corpus / "天津.rtf").write_bytes(("{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0\\fcharset134 SimSun;}}\n"
                                      "\\pard\\f0 " + gbk + "}").encode("ascii"))
    ns = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" ' \
         'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    body = "".join(f"<text:p>{escape(line)}</text:p>" for line in lines)
    with zipfile.ZipFile(corpus / "天津.odt", "w") as zf:
        zf.writestr("content.xml", f"<office:document-content {ns}><office:body><office:text>{body}"
                                   "</office:text></office:body></office:document-content>")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("报告")
    ws.write(0, 0, "正文")
    ws.write(1, 0, "\n".join(lines))
    wb.save(str(corpus / "天津.xls"))
    pipeline.run(corpus, out=tmp_path / "out", jobs=1, cache_dir=str(tmp_path / "cache"))
    docs = tables.load(tmp_path / "out", "documents").set_index("doc_id")
    sents = tables.load(tmp_path / "out", "sentences")
    assert not len(tables.load(tmp_path / "out", "errors")) and len(docs) == 4
    per_format = {docs.loc[d, "format"]: list(zip(g["text"], g["type"]))
                  for d, g in sents.sort_values(["doc_id", "sent_id"]).groupby("doc_id")}
    assert set(per_format) == {"txt", "rtf", "odt", "xls"} and len(per_format["txt"]) > 300
    assert all(rows == per_format["txt"] for rows in per_format.values())
