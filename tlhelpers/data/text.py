"""A real, offline text-classification corpus: scientific-Python docstrings labelled by topic.

No labelled text ships with the course's packages, but their documentation is real prose
written by people: every public function of NumPy, SciPy and scikit-image opens with a
one-line summary and usually a paragraph of explanation. The *topic* of the submodule a
function lives in is a real label for that text. This module builds the corpus on the spot
from the installed packages, so Lesson 06 runs offline on genuine human-written sentences.

How it is built (everything deterministic for given package versions):

1. For each topic, the public names of its modules (``__all__``, else ``dir``) are visited
   in sorted order of qualified name; callables (functions, classes, ufuncs, SciPy
   distribution objects) with a docstring are kept. An object reachable from several
   modules is taken once, at its first qualified name.
2. Each docstring is cleaned: ``inspect.cleandoc``; leading signature lines (ufuncs)
   dropped; everything from the first numpydoc section header (``Parameters``,
   ``Returns``, ``Notes``, ``Examples`` …, or a ``.. directive::``) on is cut; doctest
   lines removed; reST roles and markup (``:func:`x```, ````x````) reduced to their text;
   whitespace collapsed. What remains is the summary and the extended description.
   The body of a ``::`` literal block (code, formulas) is dropped.
3. Boilerplate is removed: a sentence that occurs in 5 or more docstrings, once the
   object's own name is masked (e.g. the shared paragraph of every SciPy distribution),
   is deleted everywhere.
4. Texts are cut after the sentence that reaches 80 words; texts under 5 words are dropped;
   exact duplicate texts are kept once, and a text found under two topics is dropped.
5. Each topic keeps at most ``MAX_PER_CLASS`` texts (those whose qualified-name MD5 hash
   is smallest — a fixed pseudo-random choice), giving a balanced-ish corpus.
6. Fixed stratified split: 25 % test (``train_test_split(..., random_state=0)``).

Topics and their modules are in :data:`TOPICS`; sizes depend on the installed versions,
which ``meta["versions"]`` records.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import re
import warnings
from collections import Counter

import numpy as np

from ._common import SPLITS, check_n, check_split, stratified_take
from .dataset import Dataset
from .errors import DatasetError

NAME = "text-docstrings"

#: topic label -> modules whose public callables' docstrings carry that label.
TOPICS: dict[str, tuple[str, ...]] = {
    "image processing": ("scipy.ndimage", "skimage.color", "skimage.exposure", "skimage.feature",
                         "skimage.filters", "skimage.measure", "skimage.morphology",
                         "skimage.segmentation", "skimage.transform"),
    "linear algebra": ("numpy.linalg", "scipy.linalg", "scipy.sparse.linalg"),
    "signal processing": ("scipy.signal",),
    "special functions": ("scipy.special",),
    "statistics": ("scipy.stats",),
}
MAX_PER_CLASS = 250
MAX_WORDS = 80
MIN_WORDS = 5
BOILERPLATE_COUNT = 5
TEST_FRACTION = 0.25
SPLIT_SEED = 0

_SECTIONS = {"Parameters", "Returns", "Yields", "Raises", "Warns", "See Also", "Notes", "References",
             "Examples", "Attributes", "Methods", "Other Parameters", "Warnings", "Receives",
             "Example", "Note", "See also"}
_SIGNATURE = re.compile(r"^[\w.]+\(.*\)\s*(->.*)?$")
_ROLE = re.compile(r":[\w:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def clean_docstring(doc: str) -> str:
    """The summary and extended description of a numpydoc docstring, as one plain paragraph."""
    lines = inspect.cleandoc(doc).splitlines()
    while lines and (not lines[0].strip() or _SIGNATURE.match(lines[0].strip())):
        lines.pop(0)
    kept: list[str] = []
    literal_indent: int | None = None      # inside a ``::`` literal (code/formula) block
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if stripped in _SECTIONS and nxt and set(nxt) <= set("-=~"):
            break
        if stripped.startswith(".. "):
            break
        if stripped.startswith((">>>", "...")):
            continue
        if stripped.endswith("::"):
            literal_indent = indent
            stripped = stripped[:-2].rstrip()
            stripped = stripped + ":" if stripped and stripped[-1].isalnum() else stripped
        kept.append(stripped)
    text = " ".join(kept)
    text = _ROLE.sub(r"\1", text)
    text = text.replace("``", "").replace("`", "").replace("**", "")
    text = re.sub(r"\s+", " ", text).strip()
    return text


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s]


def _truncate(sentences: list[str]) -> str:
    out, words = [], 0
    for s in sentences:
        out.append(s)
        words += len(s.split())
        if words >= MAX_WORDS:
            break
    return " ".join(out)


def _public_callables(module_name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or dir(module)
        for attr in sorted(set(names)):
            if attr.startswith("_"):
                continue
            try:
                obj = getattr(module, attr)
            except AttributeError:
                continue
            if inspect.ismodule(obj) or not callable(obj):
                continue
            doc = getattr(obj, "__doc__", None)
            if isinstance(doc, str) and doc.strip():
                yield f"{module_name}.{attr}", obj, doc


def _versions() -> dict[str, str]:
    out = {}
    for package in sorted({m.split(".")[0] for mods in TOPICS.values() for m in mods}):
        out[package] = importlib.import_module(package).__version__
    return out


@functools.lru_cache(maxsize=1)
def build_corpus() -> tuple[list[str], np.ndarray, list[str]]:
    """All texts, their labels and qualified names (before the split), built as documented."""
    seen: set[int] = set()
    raw: list[tuple[str, int, str]] = []       # (qualified name, label, cleaned text)
    for label, topic in enumerate(TOPICS):
        for module_name in TOPICS[topic]:
            for qualname, obj, doc in _public_callables(module_name):
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                text = clean_docstring(doc)
                if text:
                    raw.append((qualname, label, text))
    def key(sentence: str, qualname: str) -> str:
        # The object's own name is masked, so "As an instance of the rv_continuous class,
        # norm object inherits ..." counts as one sentence across all distributions.
        short = qualname.rsplit(".", 1)[-1]
        return re.sub(rf"\b{re.escape(short)}\b", "<name>", sentence)

    counts = Counter(k for qualname, _, text in raw
                     for k in {key(s, qualname) for s in _sentences(text)})
    boiler = {k for k, c in counts.items() if c >= BOILERPLATE_COUNT}
    by_text: dict[str, list[tuple[str, int]]] = {}
    for qualname, label, text in sorted(raw):
        kept = _truncate([s for s in _sentences(text) if key(s, qualname) not in boiler])
        if len(kept.split()) >= MIN_WORDS:
            by_text.setdefault(kept, []).append((qualname, label))
    per_class: dict[int, list[tuple[str, str]]] = {}
    for text, owners in by_text.items():
        if len({label for _, label in owners}) > 1:
            continue  # the same text under two topics: ambiguous, dropped
        qualname, label = owners[0]
        per_class.setdefault(label, []).append((qualname, text))
    texts, labels, names = [], [], []
    for label in range(len(TOPICS)):
        items = per_class.get(label, [])
        if len(items) > MAX_PER_CLASS:
            items = sorted(items, key=lambda it: hashlib.md5(it[0].encode()).hexdigest())[:MAX_PER_CLASS]
        for qualname, text in sorted(items):
            texts.append(text)
            labels.append(label)
            names.append(qualname)
    if not texts:
        raise DatasetError("no docstrings found; the text corpus needs numpy, scipy and scikit-image.")
    return texts, np.asarray(labels, dtype=np.int64), names


def load_docstring_corpus(split: str = "train", *, n: int | None = None, seed: int = 0) -> Dataset:
    """The docstring-topic corpus: ``x`` a list of strings, ``y`` the topic index.

    Args:
        split: ``"train"`` (75 %) or ``"test"`` (25 %), a fixed stratified split.
        n: a smaller stratified sample of the split (chosen by ``seed``); all when None.
        seed: only used when ``n`` is smaller than the split.
    """
    from sklearn.model_selection import train_test_split

    check_split(split, SPLITS, name=NAME)
    texts, labels, names = build_corpus()
    index = np.arange(len(texts))
    train, test = train_test_split(index, test_size=TEST_FRACTION, stratify=labels,
                                   random_state=SPLIT_SEED)
    pick = np.sort(train if split == "train" else test)
    n = check_n(n, name=NAME, maximum=len(pick))
    sizes = np.bincount(labels, minlength=len(TOPICS)).tolist()
    class_names = list(TOPICS)
    ds = Dataset(
        x=[texts[i] for i in pick], y=labels[pick], class_names=class_names, name=NAME, split=split,
        description=("Real text: the summary and description sentences of public NumPy, SciPy and "
                     "scikit-image docstrings (boilerplate and code removed), labelled by the topic "
                     f"of their module ({', '.join(class_names)}); at most {MAX_PER_CLASS} per topic; "
                     "fixed 75/25 stratified split. Built offline from the installed packages."),
        synthetic=False, source="embedded",
        meta={"versions": _versions(), "topics": {t: list(m) for t, m in TOPICS.items()},
              "class_sizes_all": dict(zip(class_names, sizes)), "qualnames": np.asarray(names)[pick],
              "per_example": ("qualnames",), "split_seed": SPLIT_SEED, "test_fraction": TEST_FRACTION},
    )
    return stratified_take(ds, n, seed)
