"""The framework-neutral learning-rate schedules (tlhelpers.schedules): each one's defining
values from its paper, its shape, and clear errors for bad arguments. The tracks' wrappers
are held to these values in test_finetune_parity.py; PyTorch's OneCycleLR and Keras's
CosineDecay check them independently in the track tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlhelpers import schedules as S


def test_warmup_cosine_rises_linearly_then_follows_half_a_cosine():
    total, warm, peak, final = 100, 10, 0.1, 0.001
    lr = S.schedule_values("warmup_cosine", total, peak_lr=peak, warmup_steps=warm, final_fraction=final / peak)
    np.testing.assert_allclose(lr[:warm], peak * np.arange(warm) / warm)
    assert lr[warm] == pytest.approx(peak)
    # halfway through the decay, the cosine is at its midpoint
    assert S.warmup_cosine(warm + (total - warm) // 2, total, peak_lr=peak, warmup_steps=warm,
                           final_fraction=final / peak) == pytest.approx((peak + final) / 2)
    assert np.all(np.diff(lr[warm:]) < 0) and lr[-1] > final
    assert S.warmup_cosine(10_000, total, peak_lr=peak, warmup_steps=warm, final_fraction=final / peak) == lr[-1]


def test_warmup_cosine_without_warmup_starts_at_the_peak():
    assert S.warmup_cosine(0, 50, peak_lr=0.5) == 0.5
    assert S.warmup_cosine(25, 50, peak_lr=0.5) == pytest.approx(0.25)


def test_one_cycle_anchor_values():
    """PyTorch's OneCycleLR: start at max/div, peak at step pct*T - 1, end at max/div/final_div."""
    total, peak = 100, 0.2
    lr = S.schedule_values("one_cycle", total, peak_lr=peak, pct_start=0.25, div_factor=20.0,
                           final_div_factor=100.0)
    assert lr[0] == pytest.approx(peak / 20)
    assert int(np.argmax(lr)) == 24 and lr[24] == pytest.approx(peak)
    assert lr[-1] == pytest.approx(peak / 20 / 100)
    assert np.all(np.diff(lr[:25]) > 0) and np.all(np.diff(lr[24:]) < 0)


def test_one_cycle_linear_and_three_phase():
    lin = S.schedule_values("one_cycle", 40, peak_lr=1.0, pct_start=0.5, anneal="linear")
    # linear climb: equal increments up to the peak at step 19
    np.testing.assert_allclose(np.diff(lin[:20]), (1.0 - 1.0 / 25) / 19)
    three = S.schedule_values("one_cycle", 100, peak_lr=1.0, pct_start=0.3, three_phase=True)
    assert three[29] == pytest.approx(1.0) and three[58] == pytest.approx(1.0 / 25)
    # symmetric: as far below the peak 5 steps before it as 5 steps after it
    assert three[24] == pytest.approx(three[34], rel=1e-9)
    assert three[-1] == pytest.approx(1.0 / 25 / 1e4)


def test_slanted_triangular_matches_ulmfit_equation_3():
    total, peak, cut_frac, ratio = 1000, 0.01, 0.1, 32
    lr = S.schedule_values("slanted_triangular", total, peak_lr=peak, cut_frac=cut_frac, ratio=ratio)
    cut = 100
    assert lr[0] == pytest.approx(peak / ratio)
    assert int(np.argmax(lr)) == cut and lr[cut] == pytest.approx(peak)
    t = 550  # p = 1 - 450 / (100 * 9) = 0.5
    assert lr[t] == pytest.approx(peak * (1 + 0.5 * (ratio - 1)) / ratio)
    assert np.all(np.diff(lr[:cut + 1]) > 0) and np.all(np.diff(lr[cut:]) < 0)
    assert lr[-1] == pytest.approx(peak * (1 + (1 / 900) * (ratio - 1)) / ratio)


def test_slanted_triangular_never_falls_below_its_floor():
    """cut = floor(37 * 0.1) = 3: the paper's p reaches 0 at step 30 and would go negative."""
    lr = S.schedule_values("slanted_triangular", 37, peak_lr=1.0)
    assert lr[30] == pytest.approx(1 / 32) and np.all(lr[30:] == lr[30]) and lr.min() > 0


@pytest.mark.parametrize("name", list(S.SCHEDULES))
def test_every_schedule_scales_with_its_peak(name):
    """lr(t) = peak * shape(t): what lets LambdaLR keep discriminative groups' ratios."""
    one = S.schedule_values(name, 37)
    three = S.schedule_values(name, 37, peak_lr=3.0)
    np.testing.assert_allclose(three, 3.0 * one, rtol=1e-12)
    assert 0.99 < one.max() <= 1.0 and one.min() > 0  # the peak may fall between two steps


def test_a_callable_schedule_is_accepted():
    def constant(step, total_steps, *, peak_lr=1.0):
        return peak_lr

    np.testing.assert_array_equal(S.schedule_values(constant, 4, peak_lr=0.5), [0.5] * 4)
    assert S.get_schedule(constant) is constant


def test_plot_schedules_labels_every_line():
    import matplotlib

    matplotlib.use("Agg")
    ax = S.plot_schedules({name: S.schedule_values(name, 50) for name in S.SCHEDULES}, log=True)
    assert [line.get_label() for line in ax.get_lines()] == list(S.SCHEDULES)
    assert ax.get_xlabel() == "optimizer step" and ax.get_ylabel() == "learning rate"
    assert ax.get_yscale() == "log"


def test_steps_to_epochs():
    assert S.steps_to_epochs(100, 10, 32) == 3
    assert S.steps_to_epochs(100, 1, 32) == 1


@pytest.mark.parametrize("fn", [S.warmup_cosine, S.one_cycle, S.slanted_triangular])
@pytest.mark.parametrize("kwargs, name", [
    ({"step": 0, "total_steps": 0}, "total_steps"),
    ({"step": 0, "total_steps": -5}, "total_steps"),
    ({"step": 0, "total_steps": 10.0}, "total_steps"),
    ({"step": -1, "total_steps": 10}, "step"),
    ({"step": 1.5, "total_steps": 10}, "step"),
    ({"step": 0, "total_steps": 10, "peak_lr": 0.0}, "peak_lr"),
    ({"step": 0, "total_steps": 10, "peak_lr": -1e-3}, "peak_lr"),
    ({"step": 0, "total_steps": 10, "peak_lr": math.nan}, "peak_lr"),
    ({"step": 0, "total_steps": 10, "peak_lr": "0.1"}, "peak_lr"),
])
def test_shared_arguments_are_checked(fn, kwargs, name):
    kwargs = dict(kwargs)
    with pytest.raises(ValueError, match=name):
        fn(kwargs.pop("step"), kwargs.pop("total_steps"), **kwargs)


@pytest.mark.parametrize("fn, kwargs, name", [
    (S.warmup_cosine, {"warmup_steps": 10}, "warmup_steps"),
    (S.warmup_cosine, {"warmup_steps": -1}, "warmup_steps"),
    (S.warmup_cosine, {"final_fraction": 1.5}, "final_fraction"),
    (S.warmup_cosine, {"final_fraction": -0.1}, "final_fraction"),
    (S.one_cycle, {"pct_start": 0.0}, "pct_start"),
    (S.one_cycle, {"pct_start": 1.0}, "pct_start"),
    (S.one_cycle, {"div_factor": 0}, "div_factor"),
    (S.one_cycle, {"final_div_factor": -1}, "final_div_factor"),
    (S.one_cycle, {"anneal": "cosine"}, "anneal"),
    (S.slanted_triangular, {"cut_frac": 0.0}, "cut_frac"),
    (S.slanted_triangular, {"cut_frac": 1.0}, "cut_frac"),
    (S.slanted_triangular, {"cut_frac": 0.05}, "cut_frac"),  # 0.05 * 10 < 1 step to climb
    (S.slanted_triangular, {"ratio": 0.5}, "ratio"),
])
def test_schedule_options_are_checked(fn, kwargs, name):
    with pytest.raises(ValueError, match=name):
        fn(0, 10, **kwargs)


@pytest.mark.parametrize("schedule, total, options, name", [
    ("cosine", 10, {}, "schedule"),
    (42, 10, {}, "schedule"),
    ("one_cycle", 0, {}, "total_steps"),
    ("one_cycle", 10, {"pct_start": 2.0}, "pct_start"),
])
def test_schedule_values_bad_input(schedule, total, options, name):
    with pytest.raises(ValueError, match=name):
        S.schedule_values(schedule, total, **options)


@pytest.mark.parametrize("schedules", [{}, [1, 2, 3], {"a": np.ones((2, 2))}])
def test_plot_schedules_bad_input(schedules):
    with pytest.raises(ValueError, match="schedules"):
        S.plot_schedules(schedules)
