"""The PyTorch track's Grad-CAM and saliency against Captum's, on the same model and layer:
first the maps must agree, then both are timed.

Captum (``captum==0.9.0``, benchmarks/requirements-peers.txt) goes in the SEPARATE peers
environment, never in the course's:

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install -r benchmarks/requirements-peers.txt -e .
    .venv-peers/bin/python -m benchmarks.gradcam_peer [--images 64] [--rounds 10]

(Captum needs only torch, numpy, matplotlib, packaging and tqdm, all already pinned by the
course: it installs next to our pins without torchvision. ``pytorch-grad-cam`` (PyPI
``grad-cam``) requires torchvision, which breaks imports in the CPU environment, so it is
not raced here.)

* Grad-CAM: ``captum.attr.LayerGradCam(model, layer).attribute(x, target,
  relu_attributions=True)`` — spatially averaged gradients of the target output times the
  layer's activations, summed over channels, ReLU — upsampled with
  ``LayerAttribution.interpolate(..., "bilinear")``; ours is
  ``tlhelpers.torch.explain.gradcam``. Captum does not switch the model to eval mode (the
  caller must; ours does it itself), so the model is put in eval mode first.
* Saliency: ``captum.attr.Saliency(model).attribute(x, target, abs=True)`` max over channels,
  against ``tlhelpers.torch.explain.saliency``.

The model is the course CNN with a 2-class head (course-pretrained backbone, the head
randomly initialised with a fixed seed), on the SYNTHETIC medical stand-in resized to 32×32
RGB; the layer is ``backbone.stage3`` (our default). Ours and Captum's are timed
alternately in one process; read the ratio of medians, the machine's load moves both.
Prints a Markdown table and writes it to ``benchmarks/results/gradcam_peer.md``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _import_captum():
    try:
        from captum.attr import LayerAttribution, LayerGradCam, Saliency
    except ImportError as err:
        raise SystemExit(f"{err}. Captum lives in a separate environment; create it with\n"
                         "  python3 -m venv .venv-peers\n"
                         "  .venv-peers/bin/pip install -r benchmarks/requirements-peers.txt -e .\n"
                         "and run this with .venv-peers/bin/python -m benchmarks.gradcam_peer") from None
    return LayerAttribution, LayerGradCam, Saliency


def setup(n_images: int, seed: int = 0):
    """The model (eval mode), NHWC images, their NCHW tensor and the predicted classes."""
    import torch

    from tlhelpers.data.medical import make_medical_standin
    from tlhelpers.data.readers import resize_images
    from tlhelpers.torch import backbones as TB
    from tlhelpers.torch.training import predict

    torch.manual_seed(seed)
    model = TB.build_classifier(TB.course_cnn(pretrained=True), 2).eval()
    ds = make_medical_standin("test", n=n_images, seed=seed)
    x = np.repeat(resize_images(ds.x, 32), 3, axis=-1).astype(np.float32)
    x_t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    targets = predict(model, x).argmax(1)
    return model, x, x_t, targets


def captum_maps(model, x_t, targets, layer_name: str = "backbone.stage3"):
    import torch

    LayerAttribution, LayerGradCam, Saliency = _import_captum()
    layer = dict(model.named_modules())[layer_name]
    target = torch.as_tensor(targets)
    cam = LayerGradCam(model, layer).attribute(x_t, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, tuple(x_t.shape[2:]), interpolate_mode="bilinear")
    sal = Saliency(model).attribute(x_t, target=target, abs=True).amax(dim=1)
    return cam[:, 0].detach().numpy(), sal.detach().numpy()


def compare(n_images: int = 16) -> dict[str, float]:
    """Largest differences between ours and Captum's maps, relative to the maps' range."""
    from tlhelpers.torch import explain as TE

    model, x, x_t, targets = setup(n_images)
    ours_cam = TE.gradcam(model, x, targets, layer="backbone.stage3")
    ours_sal = TE.saliency(model, x, targets)
    cam, sal = captum_maps(model, x_t, targets)
    return {"gradcam": float(np.abs(ours_cam - cam).max() / max(np.abs(cam).max(), 1e-12)),
            "saliency": float(np.abs(ours_sal - sal).max() / max(np.abs(sal).max(), 1e-12)),
            "gradcam_max": float(np.abs(cam).max())}


def _median_seconds(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    import torch

    from tlhelpers.torch import explain as TE

    diff = compare()
    if diff["gradcam"] > 1e-4 or diff["saliency"] > 1e-4:
        raise SystemExit(f"maps disagree with Captum's: {diff}")
    model, x, x_t, targets = setup(args.images)
    times = {"ours gradcam": [], "captum gradcam": [], "ours saliency": [], "captum saliency": []}
    LayerAttribution, LayerGradCam, Saliency = _import_captum()
    layer = model.backbone.stage3
    target = torch.as_tensor(targets)
    for _ in range(args.rounds):          # interleaved, round by round
        times["ours gradcam"] += _median_seconds(
            lambda: TE.gradcam(model, x, targets, layer="backbone.stage3", batch_size=args.images), 1)
        times["captum gradcam"] += _median_seconds(lambda: LayerAttribution.interpolate(
            LayerGradCam(model, layer).attribute(x_t, target=target, relu_attributions=True),
            (32, 32), interpolate_mode="bilinear"), 1)
        times["ours saliency"] += _median_seconds(lambda: TE.saliency(model, x, targets, batch_size=args.images), 1)
        times["captum saliency"] += _median_seconds(
            lambda: Saliency(model).attribute(x_t, target=target, abs=True).amax(dim=1), 1)
    med = {k: float(np.median(v)) for k, v in times.items()}
    import captum

    lines = [f"# Grad-CAM and saliency: tlhelpers.torch.explain vs Captum {captum.__version__}", "",
             f"{args.images} images 32x32x3, course CNN + 2-class head, layer backbone.stage3, CPU "
             f"({platform.processor() or platform.machine()}, torch {torch.__version__}, "
             f"{torch.get_num_threads()} threads), {args.rounds} interleaved rounds; median seconds.", "",
             f"Agreement (max |ours - Captum| / max |Captum|): Grad-CAM {diff['gradcam']:.2e}, "
             f"saliency {diff['saliency']:.2e}.", "",
             "| method | ours (s) | Captum (s) | ours / Captum |", "|---|---:|---:|---:|"]
    for method in ("gradcam", "saliency"):
        a, b = med[f"ours {method}"], med[f"captum {method}"]
        lines.append(f"| {method} | {a:.4f} | {b:.4f} | {a / b:.2f} |")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gradcam_peer.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
