"""Parity of the PyTorch track's Grad-CAM and saliency with Captum's on the same model and layer
(issue 15). Captum lives only in the peers environment (benchmarks/requirements-peers.txt), so
this is skipped in the course's; run it there:

    .venv-peers/bin/python -m pytest tests/test_explain_peer.py
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.torch

pytest.importorskip("torch")
pytest.importorskip("captum", reason="Captum is a peer: install benchmarks/requirements-peers.txt in .venv-peers")


def test_gradcam_and_saliency_match_captum():
    from benchmarks.gradcam_peer import compare

    diff = compare(n_images=8)
    assert diff["gradcam_max"] > 0                   # a real map, not two empty ones
    assert diff["gradcam"] < 1e-5 and diff["saliency"] < 1e-5, diff
