"""Errors raised by the data layer, each saying what to do next."""

from __future__ import annotations


class DatasetError(ValueError):
    """Bad request: unknown dataset name, unknown split, impossible size …"""


class DatasetUnavailableError(RuntimeError):
    """A real dataset is neither in the cache nor downloadable right now.

    The message names the dataset, the file it needs, the URL and the exact path to put
    the file at, so a classroom without internet can be prepared by copying files.
    """


class ChecksumError(RuntimeError):
    """A downloaded or cached file does not have the published checksum."""
