"""tlhelpers — the tested helpers behind the hands-on transfer learning course.

The core (this package) imports neither TensorFlow nor PyTorch. Each lesson imports
its own track: ``tlhelpers.keras`` or ``tlhelpers.torch``, whose modules mirror each
other name for name.
"""

from . import _quiet  # noqa: F401  (must run before any framework import)
from .environment import env_report
from .paths import data_dir
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
]
