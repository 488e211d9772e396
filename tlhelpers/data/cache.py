"""Where the course keeps downloaded data and weights (``TLH_DATA_DIR``), and how it writes there.

Rules every writer in the cache follows (downloads, trust records, decoded arrays):

* **One place.** ``TLH_DATA_DIR`` if set — a relative value is taken relative to the
  user's home folder, so every notebook finds the same cache whatever folder it runs
  in — else the user's cache folder (``~/.cache/tlhelpers`` on Linux).
* **Clear errors.** A ``TLH_DATA_DIR`` that is a file, or a folder that cannot be created
  or written, raises :class:`~tlhelpers.data.errors.CacheDirError` naming the folder and
  what to do. A read-only cache prepared by an instructor is fine for reading.
* **Shareable.** Files are readable by everyone (``0o644``) and folders listable
  (``0o755``) whatever the umask; inside a group-writable folder (a classroom cache)
  they are group-writable too (``0o664`` / ``0o775``), so any member can refresh them.
* **Atomic.** Nothing is written in place: a temporary file in the same folder is
  completed, then renamed over the destination, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import platformdirs

from .. import checks
from .errors import CacheDirError

ENV_VAR = "TLH_DATA_DIR"


def data_dir(create: bool = True) -> Path:
    """The data cache: ``TLH_DATA_DIR`` if set (relative to your home folder when relative),
    else the user's cache directory.

    An instructor preparing a classroom without internet copies the dataset and weight
    files here (each under its original file name) and every notebook finds them.
    """
    create = checks.flag(create, "create")
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw:
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = Path.home() / path
    else:
        path = Path(platformdirs.user_cache_dir("tlhelpers"))
    if path.exists() and not path.is_dir():
        raise CacheDirError(f"{ENV_VAR} must be a folder, got the file {path}. Point {ENV_VAR} "
                            "at a folder (it is created if missing), or unset it to use "
                            f"{platformdirs.user_cache_dir('tlhelpers')}.")
    if create:
        make_dirs(path)
    return path


def shared_mode(parent: Path, *, directory: bool) -> int:
    """Permissions for a new cache entry in ``parent``: world-readable, and group-writable
    when ``parent`` is (a shared classroom cache)."""
    try:
        group_writable = bool(parent.stat().st_mode & stat.S_IWGRP)
    except OSError:
        group_writable = False
    if directory:
        return 0o775 if group_writable else 0o755
    return 0o664 if group_writable else 0o644


def make_dirs(path: Path) -> Path:
    """Create ``path`` and missing parents with :func:`shared_mode` permissions, or say why not."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(exist_ok=True)
            os.chmod(folder, shared_mode(folder.parent, directory=True))
        except FileExistsError:
            pass
        except OSError as err:
            raise CacheDirError(
                f"cannot create the cache folder {folder} ({err.strerror or err}). Set "
                f"{ENV_VAR} to a folder you can write, e.g. {ENV_VAR}=~/tlhelpers-data.") from err
    if not path.is_dir():
        raise CacheDirError(f"the cache path {path} is a file, not a folder; remove it or set "
                            f"{ENV_VAR} to another folder.")
    return path


def check_writable(folder: Path) -> None:
    """A :class:`CacheDirError` unless new files can be created in ``folder``."""
    make_dirs(folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CacheDirError(
            f"the cache folder {folder} is not writable, so nothing can be downloaded into "
            f"it. Ask whoever prepared it to add the file, or set {ENV_VAR} to a folder you "
            "can write (e.g. ~/tlhelpers-data).")


def publish_mode(path: Path) -> None:
    """Give a finished temporary file the cache's permissions before it is moved into place."""
    os.chmod(path, shared_mode(path.parent, directory=False))


def cached_arrays(path: Path, source_digest: str,
                  build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays decoded from a source file, kept next to it so the next load skips decoding.

    The cache file (an uncompressed ``.npz``) records the checksum of the source it was
    decoded from; it is used only when ``source_digest`` (the verified source's checksum)
    is the same, and rebuilt otherwise, or when it cannot be read. It is written
    atomically with the cache's permissions; a read-only cache just decodes every time.
    """
    path = Path(path)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                if str(npz["source_digest"]) == source_digest:
                    return {k: npz[k] for k in npz.files if k != "source_digest"}
        except (OSError, ValueError, KeyError, EOFError):
            pass  # damaged or foreign: rebuild it below
    arrays = build()
    try:
        make_dirs(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except (OSError, CacheDirError):
        return arrays  # a read-only cache: decode each time, never fail the lesson for speed
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, source_digest=np.asarray(source_digest), **arrays)
        publish_mode(Path(tmp))
        os.replace(tmp, path)
    except OSError:
        pass
    finally:
        Path(tmp).unlink(missing_ok=True)
    return arrays
