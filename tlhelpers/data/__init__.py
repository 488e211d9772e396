"""Course datasets: embedded (offline) ones, real ones from the cache or a download, and your own."""

from .dataset import Dataset

__all__ = ["Dataset"]
