"""Clinical evaluation metrics (tlhelpers.metrics): ROC/AUC from the positive class's score and
never from hard labels or the wrong column (COURSE.md §5 item 19), thresholds chosen on
validation for a target sensitivity or specificity, metrics at a threshold, percentile
bootstrap intervals, the report table, labelled plots, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

import tlhelpers.metrics as M


def scored(n: int = 400, prevalence: float = 0.3, separation: float = 1.5, seed: int = 0):
    """Labels, positive-class probabilities, the (N, 2) probability matrix and the logits."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(np.int64)
    logit = separation * (2 * y - 1) + rng.normal(0, 1.5, n)
    p = 1 / (1 + np.exp(-logit))
    return y, p, np.stack([1 - p, p], axis=1), logit


# --------------------------------------------------------------------------------------
# AUC from the right score (item 19)
# --------------------------------------------------------------------------------------

def test_auc_is_sklearns_on_the_positive_column_and_invariant_to_monotone_scores():
    y, p, probs, logit = scored()
    expected = roc_auc_score(y, p)
    assert M.roc_auc(y, p) == pytest.approx(expected, abs=1e-12)
    assert M.roc_auc(y, probs) == pytest.approx(expected, abs=1e-12)          # column 1 taken
    assert M.roc_auc(y, logit) == pytest.approx(expected, abs=1e-12)          # logits rank the same
    assert M.roc_auc(y, probs, pos_label="b", class_names=["a", "b"]) == pytest.approx(expected, abs=1e-12)
    # the other class as positive: its own column, its own labels -> the same area
    assert M.roc_auc(y, probs, pos_label=0) == pytest.approx(expected, abs=1e-12)
    assert M.average_precision(y, probs) == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert M.average_precision(y, probs, pos_label=0) == pytest.approx(average_precision_score(1 - y, 1 - p))


def test_item_19_wrong_column_and_hard_labels_are_measurably_wrong():
    y, p, probs, _ = scored(separation=2.0)
    right = M.roc_auc(y, probs)
    assert right > 0.85
    # The wrong column passed as a 1-D score is a valid-looking score: the area flips.
    assert M.roc_auc(y, probs[:, 0]) == pytest.approx(1 - right, abs=1e-12)
    # Hard labels: AUC from an argmax collapses the curve to one point (sklearn would
    # return balanced accuracy); the course's roc_auc refuses them.
    hard = probs.argmax(1)
    assert roc_auc_score(y, hard) < right - 0.02
    with pytest.raises(ValueError, match="hard predictions"):
        M.roc_auc(y, hard)
    with pytest.raises(ValueError, match="hard predictions"):
        M.roc_auc(y, np.eye(2)[hard])                       # one-hot "probabilities"


def test_multiclass_auc_is_macro_one_vs_rest():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 300)
    z = rng.normal(0, 1, (300, 4)) + 2 * np.eye(4)[y]
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    per_class = [roc_auc_score(y == c, probs[:, c]) for c in range(4)]      # MedMNIST's getAUC
    assert M.roc_auc(y, probs) == pytest.approx(np.mean(per_class), abs=1e-12)


def test_bad_scores_get_clear_errors():
    y, p, probs, logit = scored(n=50)
    cases = [
        (y, np.c_[1 - logit, logit], "probabilities in \\[0, 1\\]"),     # logits as a matrix
        (y, probs * 0.9, "sum"),                                          # rows not distributions
        (y, np.c_[probs, np.zeros(50)], "3 columns"),                     # columns don't match classes
        (np.zeros(50, int), p, "only negative"),                          # single-class y_true
        (np.ones(50, int), p, "only positive"),
        (y, p[:-1], "49 rows"),
        (y, np.where(np.arange(50) == 3, np.nan, p), "NaN"),
        (y.astype(float) + 0.5, p, "integer class indices"),
        (y + 1, p, "0 and 1"),
        (y, np.array(["a"] * 50), "numeric"),
    ]
    for labels, score, message in cases:
        with pytest.raises(ValueError, match=message):
            M.roc_auc(labels, score)
    with pytest.raises(ValueError, match="class_names"):
        M.roc_auc(y, probs, pos_label="pneumonia")
    with pytest.raises(ValueError, match="pos_label"):
        M.roc_auc(y, probs, pos_label=2)
    with pytest.raises(ValueError, match="not one of class_names"):
        M.roc_auc(y, probs, pos_label="x", class_names=["normal", "pneumonia"])


def test_curves_are_sklearns():
    from sklearn.metrics import precision_recall_curve, roc_curve

    y, p, probs, _ = scored()
    for ours, theirs in zip(M.roc_curve(y, probs), roc_curve(y, p)):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(M.pr_curve(y, probs), precision_recall_curve(y, p)):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="both"):
        M.pr_curve(np.zeros(10, int), np.linspace(0.1, 0.9, 10))
    with pytest.raises(ValueError, match="hard predictions"):
        M.roc_curve(y, (p > 0.5).astype(float))


# --------------------------------------------------------------------------------------
# Thresholds and operating points
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95, 1.0])
def test_threshold_for_sensitivity_is_the_highest_that_reaches_the_target(target):
    y, p, probs, _ = scored(seed=3)
    t = M.threshold_for_sensitivity(y, probs, target)
    assert M.metrics_at_threshold(y, probs, t)["sensitivity"] >= target
    higher = np.unique(p[p > t])
    if len(higher):                       # the next score up misses the target
        assert M.metrics_at_threshold(y, probs, higher[0])["sensitivity"] < target
    # brute force over every observed score
    best = max(s for s in np.unique(p) if np.mean(p[y == 1] >= s) >= target)
    assert t == best


@pytest.mark.parametrize("target", [0.5, 0.9, 0.99])
def test_threshold_for_specificity_and_youden_match_brute_force(target):
    y, p, _, _ = scored(seed=4)
    t = M.threshold_for_specificity(y, p, target)
    assert np.mean(p[y == 0] < t) >= target
    assert t == min(s for s in np.unique(p) if np.mean(p[y == 0] < s) >= target)
    j = {s: np.mean(p[y == 1] >= s) + np.mean(p[y == 0] < s) - 1 for s in np.unique(p)}
    best = max(j.values())
    assert M.youden_threshold(y, p) == max(s for s, v in j.items() if v == best)


def test_threshold_targets_outside_0_1_are_refused():
    y, p, _, _ = scored(n=60)
    for bad in (0, -0.1, 1.5, float("nan"), "0.9", True, None):
        with pytest.raises(ValueError, match="target"):
            M.threshold_for_sensitivity(y, p, bad)
        with pytest.raises(ValueError, match="target"):
            M.threshold_for_specificity(y, p, bad)
    with pytest.raises(ValueError, match="only positive"):
        M.threshold_for_sensitivity(np.ones(60, int), p, 0.9)
    with pytest.raises(ValueError, match="hard predictions"):
        M.youden_threshold(y, (p > 0.5).astype(int))


def test_metrics_at_threshold_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.4, 0.6])
    m = M.metrics_at_threshold(y, s, 0.5)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (3, 1, 1, 3)
    assert m["sensitivity"] == m["specificity"] == m["ppv"] == m["npv"] == m["accuracy"] == 0.75
    assert m["prevalence"] == 0.5
    # score == threshold counts as positive (sklearn's roc_curve convention)
    assert M.metrics_at_threshold(y, s, 0.3)["tp"] == 4
    nothing = M.metrics_at_threshold(y, s, 0.95)
    assert nothing["tp"] == nothing["fp"] == 0 and np.isnan(nothing["ppv"]) and nothing["specificity"] == 1
    for bad in (float("inf"), "0.5", None, [0.5]):
        with pytest.raises(ValueError, match="threshold"):
            M.metrics_at_threshold(y, s, bad)


def test_confusion_matrix_rows_are_truth():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    pred = np.array([1, 1, 0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(M.confusion_matrix(y, pred), [[3, 1], [1, 3]])
    np.testing.assert_array_equal(M.confusion_matrix(np.zeros(3, int), np.zeros(3, int), num_classes=2),
                                  [[3, 0], [0, 0]])
    with pytest.raises(ValueError, match="scores, not predicted classes"):
        M.confusion_matrix(y, pred * 0.7)
    with pytest.raises(ValueError, match="num_classes"):
        M.confusion_matrix(y, pred, num_classes=1)
    with pytest.raises(ValueError, match="y_pred"):
        M.confusion_matrix(y, pred[:-1])


# --------------------------------------------------------------------------------------
# Bootstrap and the report
# --------------------------------------------------------------------------------------

def test_bootstrap_is_seeded_stratified_and_matches_hanley_mcneil():
    y, p, _, _ = scored(n=600, prevalence=0.3, separation=1.0, seed=5)
    ci = M.bootstrap_ci(M.roc_auc, y, p, n_resamples=400, seed=0)
    small = M.bootstrap_ci(M.roc_auc, y, p, n_resamples=50, seed=0)
    assert small == M.bootstrap_ci(M.roc_auc, y, p, n_resamples=50, seed=0)
    assert small != M.bootstrap_ci(M.roc_auc, y, p, n_resamples=50, seed=1)
    assert ci.low < ci.estimate < ci.high and ci.n_valid == 400 and ci.stratified
    # Hanley & McNeil (1982) standard error of the AUC: the interval has about its width.
    a, n1, n0 = ci.estimate, int(y.sum()), int((1 - y).sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))
    assert 0.75 < (ci.high - ci.low) / (2 * 1.96 * se) < 1.25
    for idx in M.bootstrap_indices(y, 20, seed=0):          # class counts kept
        assert y[idx].sum() == y.sum()
    assert str(ci).count("[") == 1


def test_unstratified_bootstrap_skips_resamples_without_both_classes():
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0])
    s = np.linspace(0.9, 0.1, 8)
    ci = M.bootstrap_ci(M.roc_auc, y, s, n_resamples=200, stratified=False, seed=0)
    assert 70 < ci.n_valid < 200 and not ci.stratified
    assert M.bootstrap_ci(M.roc_auc, y, s, n_resamples=50, seed=0).n_valid == 50


def test_bootstrap_bad_input():
    y, p, _, _ = scored(n=40)
    for kwargs, message in [({"n_resamples": 0}, "n_resamples"), ({"confidence": 1.0}, "confidence"),
                            ({"confidence": 95}, "confidence"), ({"stratified": "yes"}, "stratified")]:
        with pytest.raises(ValueError, match=message):
            M.bootstrap_ci(M.roc_auc, y, p, **kwargs)
    with pytest.raises(ValueError, match="metric"):
        M.bootstrap_ci("auc", y, p)
    with pytest.raises(ValueError, match="rows"):
        M.bootstrap_ci(M.roc_auc, y, p[:-2])


def test_clinical_report_one_row_per_model_same_resamples():
    y, p, probs, logit = scored(n=300, seed=6)
    weak = scored(n=300, separation=0.5, seed=6)[1]
    report = M.clinical_report(y, {"good": probs, "weak": weak}, thresholds={"good": 0.5, "weak": 0.4},
                               n_resamples=120, seed=2)
    assert list(report.index) == ["good", "weak"]
    assert report.loc["good", "AUC"] == pytest.approx(roc_auc_score(y, p))
    at = M.metrics_at_threshold(y, probs, 0.5)
    for m in ("sensitivity", "specificity", "accuracy"):
        assert report.loc["good", m] == pytest.approx(at[m])
    assert report.loc["good", "PPV"] == pytest.approx(at["ppv"])
    ci = M.bootstrap_ci(M.roc_auc, y, probs, n_resamples=120, seed=2)    # the same resamples
    assert (report.loc["good", "AUC low"], report.loc["good", "AUC high"]) == pytest.approx((ci.low, ci.high))
    assert (report["AUC low"] <= report["AUC"]).all() and (report["AUC"] <= report["AUC high"]).all()
    assert "percentile bootstrap" in report.attrs["method"]
    text = M.format_report(report)
    assert text.loc["good", "AUC"].startswith(f"{report.loc['good', 'AUC']:.3f} [")
    with pytest.raises(ValueError, match="thresholds"):
        M.clinical_report(y, {"good": probs}, thresholds={"other": 0.5})
    with pytest.raises(ValueError, match="scores"):
        M.clinical_report(y, probs)
    with pytest.raises(ValueError, match="hard predictions"):
        M.clinical_report(y, {"hard": probs.argmax(1)})


def test_plots_have_labelled_axes():
    import matplotlib.pyplot as plt

    y, p, probs, logit = scored(n=200)
    fig = M.plot_roc(y, {"a": probs, "b": logit}, operating_points={"a": 0.5})
    ax = fig.axes[0]
    assert "specificity" in ax.get_xlabel() and "sensitivity" in ax.get_ylabel()
    assert any("AUC" in t.get_text() for t in ax.get_legend().get_texts())
    fig2 = M.plot_pr(y, p)
    assert "recall" in fig2.axes[0].get_xlabel() and "precision" in fig2.axes[0].get_ylabel()
    fig3 = M.plot_confusion_matrix(M.confusion_matrix(y, (p >= 0.5).astype(int)), ["normal", "pneumonia"])
    assert fig3.axes[0].get_xlabel() == "predicted class" and fig3.axes[0].get_ylabel() == "true class"
    with pytest.raises(ValueError, match="class_names"):
        M.plot_confusion_matrix(np.eye(2, dtype=int), ["one"])
    with pytest.raises(ValueError, match="integer counts"):
        M.plot_confusion_matrix(np.eye(2) * 0.5)
    plt.close("all")


def test_linear_probe_still_there():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, 0] > 0).astype(int)
    assert M.linear_probe_accuracy(x[:60], y[:60], x[60:], y[60:]) > 0.8
