"""Two moons and rotated two moons: the smallest domain-adaptation problem there is.

The source domain is scikit-learn's ``make_moons`` (two interleaving half circles, label =
which moon). The target domain is the *same distribution rotated* by ``angle`` degrees
(default 30, as in the DANN toy example of Ganin et al. JMLR 2016, §5.1) about the centre
of the two moons, (0.5, 0.25) — the midpoint of the noise-free moons' bounding box
x ∈ [−1, 2], y ∈ [−0.5, 1] — so the rotation does not depend on the sample drawn.
A classifier fitted on the source loses accuracy on the target as the angle grows.

``x`` is ``(N, 2)`` float32 (points, not images); ``y`` int64 in {0, 1}.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ._common import SPLITS, check_n, check_split, number, split_rng
from .dataset import Dataset

CLASS_NAMES = ["upper moon", "lower moon"]
CENTRE = (0.5, 0.25)


def rotate(points: np.ndarray, angle: float, centre: tuple[float, float] = CENTRE) -> np.ndarray:
    """``points`` ``(N, 2)`` rotated counter-clockwise by ``angle`` degrees about ``centre``."""
    t = np.deg2rad(angle)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    c = np.asarray(centre, dtype=np.float64)
    return (np.asarray(points, dtype=np.float64) - c) @ r.T + c


def _moons(split: str, n: int | None, seed: int, noise: float, salt: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons as sk_make_moons

    split_index = check_split(split, SPLITS, name="moons")
    n = check_n(n, name="moons", maximum=checks.LIMITS["examples"])
    if n is None:
        n = 1000
    noise = number(noise, "noise", minimum=0.0, maximum=1.0)
    state = int(split_rng(seed, split_index, salt).integers(2**31 - 1))
    return sk_make_moons(n_samples=n, noise=noise, random_state=state)


def make_moons(split: str = "train", *, n: int | None = None, seed: int = 0,
               noise: float = 0.1) -> Dataset:
    """The source domain: ``make_moons(n, noise)`` points, seeded per ``(seed, split)``."""
    x, y = _moons(split, n, seed, noise, salt=5)
    return Dataset(
        x=x.astype(np.float32), y=y, class_names=list(CLASS_NAMES), name="moons", split=split,
        description=f"Two moons (sklearn make_moons, noise={noise}): the toy source domain.",
        synthetic=True, source="embedded",
        meta={"seed": int(seed), "noise": float(noise), "angle": 0.0, "centre": CENTRE,
              "domain": "source"},
    )


def make_rotated_moons(split: str = "train", *, n: int | None = None, seed: int = 0,
                       noise: float = 0.1, angle: float = 30.0) -> Dataset:
    """The target domain: fresh two-moons points rotated by ``angle`` degrees about the centre.

    The points are drawn independently of the source (another random stream), so source
    and target share a distribution only up to the rotation, as in a real domain shift.
    """
    angle = number(angle, "angle")
    x, y = _moons(split, n, seed, noise, salt=6)
    return Dataset(
        x=rotate(x, angle).astype(np.float32), y=y, class_names=list(CLASS_NAMES),
        name="moons-rotated", split=split,
        description=(f"Two moons (sklearn make_moons, noise={noise}) rotated by {angle:g} degrees "
                     f"about {CENTRE}: the toy target domain."),
        synthetic=True, source="embedded",
        meta={"seed": int(seed), "noise": float(noise), "angle": float(angle), "centre": CENTRE,
              "domain": "target"},
    )
