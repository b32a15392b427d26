"""The spaCy side of annotation: the segmenter as a spaCy tokenizer, the `zhili_cues` component (cue
matches as doc.spans['cues']) and the Span/Doc extensions that Annotator.annotate_doc fills.

Kept apart from pipeline/annotate.py so that the batch path, which never builds a Doc, does not import
spaCy: a worker starts 1.4 s sooner.
"""
from __future__ import annotations

import functools

import numpy as np
import spacy
from spacy.attrs import IDX
from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.annotate import CUE_TYPES, compile_cues, cue_matcher
from pipeline.segment import get_cutter


class SegmenterTokenizer:
    """spaCy tokenizer backed by pipeline.segment (rjieba by default, user dictionary loaded).

    Never lets spaCy's own Chinese segmenter (pkuseg) load: no model download at run time.
    """

    def __init__(self, vocab, cut):
        self.vocab = vocab
        self.cut = cut

    def __call__(self, text: str) -> Doc:
        words = [w for w in self.cut(text) if w]
        return Doc(self.vocab, words=words, spaces=[False] * len(words))


class CueComponent:
    """spaCy component: the cue matches of CueMatcher as doc.spans['cues'] (label = cue type)."""

    def __init__(self, cue_path: str, cue_digest: str):
        self.matcher = cue_matcher(compile_cues(cue_path, cue_digest))

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        bound = np.zeros(len(text) + 1, dtype=bool)
        bound[doc.to_array([IDX]).ravel()] = True
        bound[len(text)] = True
        starts, ends, pairs = self.matcher.match(text, bound)
        spans = []
        for s, e, p in zip(starts.tolist(), ends.tolist(), pairs.tolist()):
            span = doc.char_span(s, e, label=CUE_TYPES[self.matcher.pair_kind[p]], alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans["cues"] = spans
        return doc


def _make_cue_component(nlp, name: str, cue_path: str, cue_digest: str) -> CueComponent:
    return CueComponent(cue_path, cue_digest)


def _register_extensions() -> None:
    if not Language.has_factory("zhili_cues"):
        Language.factory("zhili_cues", default_config={"cue_path": "", "cue_digest": ""},
                         func=_make_cue_component)
    for name, default in (("type", None), ("type_score", None), ("cues", None), ("method", None)):
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)
    if not Doc.has_extension("sections"):
        Doc.set_extension("sections", default=None)


@functools.lru_cache(maxsize=4)
def build_nlp(tokenizer: str, userdict: str, cue_path: str, cue_digest: str):
    """spacy.blank('zh') with the segmenter tokenizer and the zhili_cues component."""
    _register_extensions()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "char"}}})
    # lexical attributes (like_num, shape...) are unused here and cost a third of Doc creation
    nlp.vocab.lex_attr_getters = {}
    nlp.tokenizer = SegmenterTokenizer(nlp.vocab, get_cutter(tokenizer, userdict))
    nlp.add_pipe("zhili_cues", config={"cue_path": cue_path, "cue_digest": cue_digest})
    return nlp
