"""SynDigits: a synthetic *source* domain of printed digits, generated offline.

In the spirit of SynNumbers (Ganin & Lempitsky 2015; Ganin et al. JMLR 2016), which
rendered digits with Windows fonts to get unlimited labelled source data for adaptation
to real digits (SVHN). Here the fonts are the TrueType files that ship with matplotlib
(DejaVu Sans/Serif/Mono in several weights and slants, STIXGeneral, Computer Modern), so
the data exists on every machine with no download.

Each image draws, independently: the font, the stroke weight, the glyph height, rotation,
horizontal stretch, position, a foreground and a background colour with a minimum
luminance contrast, a background gradient, neighbouring "distractor" digits (as in house
numbers) in half of the images, blur and pixel noise. Glyphs are rendered once per
(font, stroke, digit) and cached; each image then costs one affine warp per glyph on a
canvas twice the output size, which is downsampled by 2×2 averaging (anti-aliasing).

The same ``seed`` and ``split`` give the same images; train and test use independent
random streams over the same fonts.
"""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from ._common import (SPLITS, balanced_labels, check_n, check_split, flag, integer, memory, number,
                      split_rng)
from .dataset import Dataset
from .errors import DatasetError

NAME = "syndigits"
CLASS_NAMES = [str(d) for d in range(10)]

# Text fonts whose digit code points map to real digit glyphs. The symbol fonts that also
# claim '0'-'9' (cmex10, cmsy10: delimiters and operators; LastResort: placeholder boxes)
# are left out, as are fonts without digits (STIXNonUni*, STIXSiz*, *Display).
FONT_FILES: tuple[str, ...] = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmti10.ttf", "cmmi10.ttf",
)

_RENDER_PX = 48          # font size at which glyphs are rasterised once
_STROKES = (0, 1, 2)     # extra stroke width (px at _RENDER_PX): thin, regular, heavy


def font_dir() -> Path:
    """matplotlib's bundled TrueType folder."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.lru_cache(maxsize=1)
def available_fonts() -> tuple[Path, ...]:
    """The fonts of :data:`FONT_FILES` that exist here and map every digit to a glyph."""
    from matplotlib.ft2font import FT2Font

    found = []
    for file in FONT_FILES:
        path = font_dir() / file
        if not path.is_file():
            continue
        charmap = FT2Font(str(path)).get_charmap()
        if all(ord(c) in charmap for c in "0123456789"):
            found.append(path)
    if not found:
        raise DatasetError(f"no digit-capable TrueType font found in {font_dir()}; "
                           "SynDigits needs matplotlib's bundled fonts.")
    return tuple(found)


@functools.lru_cache(maxsize=1)
def _glyph_bank() -> tuple[tuple[Image.Image, ...], np.ndarray]:
    """Every (font, stroke, digit) glyph as a tight 'L' image, plus its ink width.

    Index: ``(font * len(_STROKES) + stroke) * 10 + digit``.
    """
    glyphs, widths = [], []
    for path in available_fonts():
        font = ImageFont.truetype(str(path), _RENDER_PX)
        for stroke in _STROKES:
            for digit in CLASS_NAMES:
                canvas = Image.new("L", (3 * _RENDER_PX, 3 * _RENDER_PX), 0)
                ImageDraw.Draw(canvas).text((_RENDER_PX, _RENDER_PX // 2), digit, fill=255, font=font,
                                            stroke_width=stroke, stroke_fill=255)
                box = canvas.getbbox()
                if box is None:  # pragma: no cover - guarded by available_fonts
                    raise DatasetError(f"font {path.name} rendered digit {digit} empty.")
                glyph = canvas.crop(box)
                glyphs.append(glyph)
                widths.append(glyph.size[0])
    return tuple(glyphs), np.asarray(widths, dtype=np.float64)


def _affine(angle: float, sx: float, sy: float, out_center: tuple[float, float],
            in_center: tuple[float, float]) -> tuple[float, ...]:
    """PIL AFFINE coefficients mapping output pixels back into the glyph image."""
    c, s = math.cos(angle), math.sin(angle)
    # forward: out = R(angle) @ diag(sx, sy) @ (in - in_c) + out_c; PIL wants the inverse.
    a, b, d, e = c / sx, s / sx, -s / sy, c / sy
    ox, oy = out_center
    return (a, b, in_center[0] - a * ox - b * oy, d, e, in_center[1] - d * ox - e * oy)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def _colours(n: int, rng: np.random.Generator, min_contrast: float) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background colours whose luminances differ by at least ``min_contrast``."""
    fg = rng.uniform(0, 1, (n, 3))
    bg = rng.uniform(0, 1, (n, 3))
    bad = np.abs(_luma(fg) - _luma(bg)) < min_contrast
    while bad.any():  # resample only the failing pairs; terminates quickly (most pairs pass)
        k = int(bad.sum())
        fg[bad] = rng.uniform(0, 1, (k, 3))
        bg[bad] = rng.uniform(0, 1, (k, 3))
        bad = np.abs(_luma(fg) - _luma(bg)) < min_contrast
    return fg, bg


def make_syndigits(split: str = "train", *, n: int | None = None, seed: int = 0,
                   image_size: int = 32, min_contrast: float = 0.3,
                   distractors: bool = True) -> Dataset:
    """Render ``n`` SynDigits images (``(n, S, S, 3)`` float32 in [0, 1], balanced labels).

    Args:
        split: ``"train"`` or ``"test"`` — independent random streams for the same seed.
        n: number of images (default 10 000 for train, 2 000 for test).
        seed: everything is a function of ``(seed, split)``.
        image_size: output side ``S`` in pixels (32 like SVHN/SynNumbers).
        min_contrast: smallest allowed |luma(fg) − luma(bg)|, so every digit is legible.
        distractors: draw partial neighbour digits left/right in about half the images.
    """
    split_index = check_split(split, SPLITS, name=NAME)
    n = check_n(n, name=NAME)
    if n is None:
        n = 10_000 if split == "train" else 2_000
    image_size = integer(image_size, "image_size", minimum=8, maximum=128)
    min_contrast = number(min_contrast, "min_contrast", minimum=0.0, maximum=0.8)
    distractors = flag(distractors, "distractors")
    memory(n, (image_size, image_size, 3))

    start = time.perf_counter()
    rng = split_rng(seed, split_index, salt=1)
    glyphs, widths = _glyph_bank()
    n_fonts = len(available_fonts())
    big = 2 * int(image_size)

    y = balanced_labels(n, 10, rng)
    font = rng.integers(0, n_fonts, n)
    stroke = rng.choice(len(_STROKES), n, p=[0.35, 0.4, 0.25])
    height = rng.uniform(0.5, 0.85, n) * big               # glyph ink height on the canvas
    angle = np.deg2rad(rng.uniform(-15, 15, n))
    stretch = rng.uniform(0.8, 1.2, n)
    shift = rng.uniform(-1, 1, (n, 2)) * (big - height)[:, None] * 0.18
    blur = rng.choice([0.0, 0.6, 1.0, 1.5], n, p=[0.4, 0.3, 0.2, 0.1])
    side = rng.uniform(0, 1, (n, 2)) < (0.5 if distractors else 0.0)   # left / right neighbour
    neigh = rng.integers(0, 10, (n, 2))
    gap = rng.uniform(0.05, 0.25, n)
    fg, bg = _colours(n, rng, min_contrast)
    grad = rng.normal(0, 0.12, (n, 2))                      # background gradient slope (x, y)
    noise_sd = rng.uniform(0, 0.03, n)

    alpha = np.empty((n, big, big), dtype=np.float32)
    centre = (big / 2, big / 2)
    # The per-image loop touches Python floats only (numpy scalars are slow to index).
    first = ((font * len(_STROKES) + stroke) * 10).tolist()
    params = zip(first, y.tolist(), height.tolist(), angle.tolist(), stretch.tolist(),
                 shift.tolist(), blur.tolist(), side.tolist(), neigh.tolist(), gap.tolist())
    for i, (base, digit, hgt, ang, st, (dx, dy), rad, sides, nb, gp) in enumerate(params):
        g = glyphs[base + digit]
        gw, gh = g.size
        sx, sy = hgt / gh * st, hgt / gh
        oc = (centre[0] + dx, centre[1] + dy)
        mask = g.transform((big, big), Image.AFFINE, _affine(ang, sx, sy, oc, (gw / 2, gh / 2)),
                           resample=Image.BILINEAR)
        for has, sign, other_digit in zip(sides, (-1, 1), nb):
            if not has:
                continue
            h = glyphs[base + other_digit]
            # Centre-to-centre distance along the rotated baseline: half widths plus a gap.
            dist = (gw + h.size[0]) / 2 * sx + gp * hgt
            hc = (oc[0] + sign * dist * math.cos(ang), oc[1] + sign * dist * math.sin(ang))
            other = h.transform((big, big), Image.AFFINE,
                                _affine(ang, sx, sy, hc, (h.size[0] / 2, h.size[1] / 2)),
                                resample=Image.BILINEAR)
            mask = ImageChops.lighter(mask, other)
        if rad > 0:
            mask = mask.filter(ImageFilter.GaussianBlur(rad))
        alpha[i] = np.asarray(mask)
    # 2×2 area downsample of the coverage (anti-aliasing), then composite at the output size:
    # compositing is linear in the coverage, so this equals compositing first, at 1/4 of the cost.
    alpha = alpha.reshape(n, image_size, 2, image_size, 2).mean(axis=(2, 4)) / np.float32(255.0)

    # A background with a gentle linear gradient, the glyph colour on top, then pixel noise.
    ramp = np.linspace(-0.5, 0.5, image_size, dtype=np.float32)
    gx, gy = grad.astype(np.float32).T
    shade = gx[:, None, None] * ramp[None, None, :] + gy[:, None, None] * ramp[None, :, None]
    bg_img = bg.astype(np.float32)[:, None, None, :] + shade[..., None]
    np.clip(bg_img, 0, 1, out=bg_img)
    a = alpha[..., None]
    img = bg_img * (1 - a) + fg.astype(np.float32)[:, None, None, :] * a
    img += rng.standard_normal(img.shape, dtype=np.float32) * noise_sd.astype(np.float32)[:, None, None, None]
    x = np.clip(img, 0, 1, out=img)
    seconds = time.perf_counter() - start

    return Dataset(
        x=x, y=y, class_names=list(CLASS_NAMES), name=NAME, split=split,
        description=("SynDigits (synthetic): digits 0-9 rendered with "
                     f"{n_fonts} TrueType fonts bundled with matplotlib, with random size, "
                     "rotation, stretch, position, colours, neighbour digits, blur and noise; "
                     "a SynNumbers-style source domain for adaptation to real digits."),
        synthetic=True, source="embedded",
        meta={"seed": int(seed), "image_size": int(image_size), "fonts": [p.name for p in available_fonts()],
              "min_contrast": float(min_contrast), "distractors": bool(distractors),
              "generation_seconds": round(seconds, 3), "domain": "synthetic printed digits"},
    )
