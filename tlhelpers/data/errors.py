"""Errors raised by the data layer, each saying what to do next."""

from __future__ import annotations

from ..checks import ArgumentError


class DatasetError(ArgumentError):
    """Bad request: unknown dataset name, unknown split, impossible size …

    An :class:`~tlhelpers.checks.ArgumentError` (so a ``ValueError`` and a ``TypeError``),
    like every bad argument to tlhelpers.
    """


class DatasetUnavailableError(RuntimeError):
    """A real dataset is neither in the cache nor obtainable right now.

    The message names the dataset, the file it needs, the URL and the exact path to put
    the file at, so a classroom without internet can be prepared by copying files.
    ``load_dataset(..., fallback=...)`` catches this error and every subclass: whatever
    kept the genuine file from us (no network, a login page instead of the file, a wrong
    checksum, an unusable cache folder), the lesson goes on with the embedded stand-in.
    """


class ChecksumError(DatasetUnavailableError):
    """A downloaded or cached file does not have the published (or recorded) checksum."""


class CacheDirError(DatasetUnavailableError):
    """The cache folder (``TLH_DATA_DIR``) is a file, or cannot be created or written."""
