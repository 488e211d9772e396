"""tlhelpers — the tested helpers behind the hands-on transfer learning course.

The core (this package) imports neither TensorFlow nor PyTorch. Each lesson imports
its own track: ``tlhelpers.keras`` or ``tlhelpers.torch``, whose modules mirror each
other name for name.

Layout (where each thing lives; the README's developer section says the same):

* **Core, framework-neutral** (``tlhelpers/*.py``): profiles, seeding, the environment
  report, argument checks (``checks``), the backbone zoo's description (``zoo``), the
  pretraining recipe (``pretraining``), and the NumPy / scikit-learn *reference
  implementations* of each method's maths: ``metrics`` (linear probes; later ROC, ECE…),
  ``divergence`` (proxy A-distance; later MMD, CORAL), ``schedules`` (training length;
  later warm-up/cosine, one-cycle, slanted triangular, the DANN λ), ``curves``, ``plots``,
  ``grading``. ``tlhelpers.data`` holds datasets, the download cache and augmentation.
  The core never imports a track.
* **Tracks** (``tlhelpers/keras/``, ``tlhelpers/torch/``): one module per method, the same
  file names and function names in both — ``backbones``, ``training``, ``transfer``,
  ``pretrain``, and as the lessons arrive ``finetune``, ``divergence``, ``dann``,
  ``distill``, ``text``, ``explain``, ``calibration``, ``meta``. Each track module imports
  the core, never the other track.
* **Parity tests** (``tests/test_*_parity.py``) hold each track to the core's reference
  and to the other track.
"""

from . import _quiet  # noqa: F401  (must run before any framework import)
from .environment import env_report, warnings_to_stdout
from .data.cache import data_dir
from .profiles import PROFILES, Profile, by_profile, current_profile, gpu_visible
from .seeding import seed_everything

__version__ = "0.1.0"

__all__ = [
    "PROFILES",
    "Profile",
    "__version__",
    "by_profile",
    "current_profile",
    "data_dir",
    "env_report",
    "gpu_visible",
    "seed_everything",
    "warnings_to_stdout",
]
