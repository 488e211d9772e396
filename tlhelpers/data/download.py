"""Fetch one dataset file into the cache, verified, or say exactly how to put it there.

Why this module exists: a course that runs in classrooms without internet, on Colab and
on CI must never (a) touch the network when the right file is already cached, (b) leave
a half-written or wrong file that a later run would trust, or (c) fail with a message
that does not tell the learner what to do. So:

* the cache is ``data_dir()/<dataset>/<original file name>`` — an instructor prepares an
  offline classroom by copying the published files there, under their published names;
* a cached file is used only after its checksum matches (no request is made at all);
* a download goes to a temporary file *in the same directory*, is verified (size and
  checksum) and only then moved into place with :func:`os.replace`, which is atomic on
  one file system — a crash, a timeout or a truncated transfer leaves nothing behind;
* ``TLH_OFFLINE=1`` (or ``download=False``) forbids the network; a missing file then
  raises :class:`DatasetUnavailableError` naming the dataset, the file, the URL(s) and
  the exact path to put it at.

Checksums. We verify SHA-256 when the publisher (or a well-known mirror of its listing)
gives one, else the published MD5 (MedMNIST, torchvision and fast.ai publish MD5s). When
no checksum is published at all (:data:`UNKNOWN`), we *trust on first use*: the first
complete download (or the first file an instructor places in the cache) is accepted and
its SHA-256 recorded next to it as ``<file>.sha256`` (``sha256sum -c`` format); every
later use is checked against that record, so a cache file that was truncated or
replaced since is caught. The registry marks such entries explicitly.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .cache import data_dir
from .errors import ChecksumError, DatasetUnavailableError

__all__ = [
    "OFFLINE_ENV",
    "UNKNOWN",
    "RemoteFile",
    "cache_path",
    "ensure_file",
    "fetch",
    "file_digest",
    "is_offline",
    "verify_file",
]

#: Set to 1/true/yes to forbid every network access (CI, exam rooms, air-gapped labs).
OFFLINE_ENV = "TLH_OFFLINE"

#: Explicit marker for "the publisher gives no checksum": trust on first use, then record.
UNKNOWN = "unknown"

_CHUNK = 1 << 16
_USER_AGENT = "tlhelpers/0.1 (transfer-learning course; +https://pypi.org/project/tlhelpers/)"


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its original name, where to get it and how to recognise it.

    Attributes:
        filename: the publisher's file name; also the name it must have in the cache.
        urls: mirrors, tried in order.
        sha256: published SHA-256, or :data:`UNKNOWN`.
        md5: published MD5 (used when no SHA-256 is known), or None.
        size: exact size in bytes when published, else None.
        approx_size: human-readable size for messages ("≈ 4 MB"), always filled.
        note: where the checksum comes from, or why it is unknown.
    """

    filename: str
    urls: tuple[str, ...]
    sha256: str = UNKNOWN
    md5: str | None = None
    size: int | None = None
    approx_size: str = ""
    note: str = ""

    @property
    def checksum_known(self) -> bool:
        """True when a published SHA-256 or MD5 pins the file's content."""
        return self.sha256 != UNKNOWN or self.md5 is not None

    def checksum_status(self) -> str:
        """One word for tables: ``sha256``, ``md5`` or ``unknown (trust on first use)``."""
        if self.sha256 != UNKNOWN:
            return "sha256" + ("+md5" if self.md5 else "")
        if self.md5:
            return "md5"
        return "unknown (trust on first use)"


def is_offline() -> bool:
    """True when ``TLH_OFFLINE`` asks us never to touch the network."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def cache_path(dataset: str, filename: str, *, create: bool = False) -> Path:
    """Where ``filename`` of ``dataset`` lives in the cache (whether or not it exists)."""
    return data_dir(create=create) / dataset / filename


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks (datasets can be hundreds of MB)."""
    # MD5 only identifies a published file here; it is not used for security (FIPS builds).
    h = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_record(path: Path) -> str | None:
    rec = _record_path(path)
    if not rec.is_file():
        return None
    text = rec.read_text(encoding="utf-8").split()
    return text[0].lower() if text else None


def _write_record(path: Path, sha256: str) -> None:
    """Record a trusted-on-first-use SHA-256 next to the file (``sha256sum -c`` format)."""
    rec = _record_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{rec.name}.", suffix=".tmp", dir=rec.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{sha256}  {path.name}\n")
        os.replace(tmp, rec)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _check(path: Path, sha256: str, md5: str | None, size: int | None,
           recorded: str | None) -> str | None:
    """None when ``path`` matches every known fingerprint, else a sentence saying what differs."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"it has {actual_size:,} bytes, the published file has {size:,}"
    if sha256 != UNKNOWN:
        got = file_digest(path, "sha256")
        if got != sha256.lower():
            return f"its SHA-256 is {got}, the published one is {sha256}"
        return None
    if md5 is not None:
        got = file_digest(path, "md5")
        if got != md5.lower():
            return f"its MD5 is {got}, the published one is {md5}"
        return None
    if recorded is not None:
        got = file_digest(path, "sha256")
        if got != recorded:
            return (f"its SHA-256 is {got}, but {recorded} was recorded when it was first "
                    f"cached (no checksum is published for this file)")
    return None


def verify_file(path: Path, sha256: str = UNKNOWN, *, md5: str | None = None,
                size: int | None = None) -> str | None:
    """Check a file against its fingerprints; None if it passes, else why it fails.

    For a file with no published checksum the ``<file>.sha256`` record (if any) is used.
    """
    path = Path(path)
    recorded = _read_record(path) if sha256 == UNKNOWN and md5 is None else None
    return _check(path, sha256, md5, size, recorded)


def _unavailable_message(dataset: str, filename: str, urls: Sequence[str], dest: Path,
                         why: str, approx_size: str = "") -> str:
    url_lines = "\n".join(f"    {u}" for u in urls)
    size = f" ({approx_size})" if approx_size else ""
    return (
        f"Dataset {dataset!r} needs the file {filename!r}{size}, which is not in the cache.\n"
        f"Reason: {why}\n"
        f"Download it from:\n{url_lines}\n"
        f"and put it, under exactly that name, at:\n    {dest}\n"
        f"(the cache folder is set by the TLH_DATA_DIR environment variable"
        + (f"; unset {OFFLINE_ENV} to allow downloads)." if is_offline() else ").")
    )


def _download_one(url: str, tmp: Path, *, expected_size: int | None, timeout: float,
                  progress: bool, desc: str) -> None:
    """Stream ``url`` into ``tmp``; raise on HTTP errors, timeouts and short transfers."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only, checked by caller)
        status = getattr(response, "status", 200)
        if status >= 400:  # urllib raises HTTPError for these; kept for custom openers
            raise urllib.error.HTTPError(url, status, "server error", response.headers, None)
        header = response.headers.get("Content-Length")
        declared = int(header) if header and header.isdigit() else None
        total = declared if declared is not None else expected_size
        received = 0
        with open(tmp, "wb") as out, tqdm(total=total, unit="B", unit_scale=True,
                                          unit_divisor=1024, desc=desc, disable=not progress,
                                          leave=False) as bar:
            while True:
                block = response.read(_CHUNK)
                if not block:
                    break
                out.write(block)
                received += len(block)
                bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
    if declared is not None and received != declared:
        raise http.client.IncompleteRead(b"", declared - received)


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, http.client.IncompleteRead):
        return f"transfer interrupted ({exc.expected or '?'} bytes missing)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"timed out after {timeout:g} s"
        return f"cannot connect ({reason})"
    return f"{type(exc).__name__}: {exc}"


def ensure_file(
    url_or_urls: str | Sequence[str],
    filename: str,
    sha256: str | None = UNKNOWN,
    *,
    dataset: str,
    md5: str | None = None,
    size: int | None = None,
    approx_size: str = "",
    download: bool = True,
    progress: bool = True,
    timeout: float = 60.0,
) -> tuple[Path, bool]:
    """Like :func:`fetch`, but also say whether the file was downloaded now (True) or cached."""
    urls = [url_or_urls] if isinstance(url_or_urls, str) else list(url_or_urls)
    sha256 = UNKNOWN if sha256 in (None, "", UNKNOWN) else sha256.lower()
    if os.path.basename(filename) != filename or filename in {"", ".", ".."}:
        raise ValueError(f"filename must be a bare file name, got {filename!r}.")
    dest = cache_path(dataset, filename)
    tofu = sha256 == UNKNOWN and md5 is None

    # 1. A cached file that checks out is used without any network access.
    stale_reason = None
    if dest.is_file():
        recorded = _read_record(dest) if tofu else None
        problem = _check(dest, sha256, md5, size, recorded)
        if problem is None:
            if tofu and recorded is None:
                # Placed by hand (or by an older version): trust on first use, record it.
                _write_record(dest, file_digest(dest, "sha256"))
            return dest, False
        stale_reason = f"the cached file {dest} cannot be trusted: {problem}"

    offline = is_offline() or not download
    if offline:
        if stale_reason is not None:
            raise ChecksumError(
                f"Dataset {dataset!r}: {stale_reason}.\nDelete it, or replace it with the "
                f"genuine file from {' or '.join(urls)}; downloads are switched off "
                f"({OFFLINE_ENV}=1 or download=False) so it was not fetched again.")
        why = (f"downloads are switched off ({OFFLINE_ENV}=1)" if is_offline()
               else "download=False was asked")
        raise DatasetUnavailableError(
            _unavailable_message(dataset, filename, urls, dest, why, approx_size))
    if stale_reason is not None:
        warnings.warn(f"{stale_reason}; downloading it again.", stacklevel=3)
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"only http(s) URLs can be downloaded, got {url!r}.")

    # 2. Download from each mirror in turn into a temporary file next to the destination.
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    checksum_failures: list[str] = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                _download_one(url, tmp, expected_size=size, timeout=timeout,
                              progress=progress, desc=filename)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                failures.append(f"{url}: {_describe(exc, timeout)}")
                continue
            problem = _check(tmp, sha256, md5, size, None)
            if problem is not None:
                msg = f"{url}: the downloaded file is not the published one — {problem}"
                failures.append(msg)
                checksum_failures.append(msg)
                continue
            if tofu:
                _write_record(tmp.with_name(dest.name), file_digest(tmp, "sha256"))
            os.replace(tmp, dest)
            return dest, True
        finally:
            tmp.unlink(missing_ok=True)

    detail = "\n".join(f"  - {f}" for f in failures)
    if stale_reason is not None:
        detail += f"\n  (and {stale_reason}; it is left untouched and will not be used)"
    if checksum_failures and len(checksum_failures) == len(failures):
        raise ChecksumError(
            f"Dataset {dataset!r}: every download of {filename!r} failed verification; "
            f"nothing was saved.\n{detail}\nIf the publisher changed the file, the course "
            f"registry must be updated; otherwise retry later.")
    raise DatasetUnavailableError(
        _unavailable_message(dataset, filename, urls, dest,
                             "every download attempt failed; nothing was saved:\n" + detail,
                             approx_size))


def fetch(
    url_or_urls: str | Sequence[str],
    filename: str,
    sha256: str | None = UNKNOWN,
    *,
    dataset: str,
    md5: str | None = None,
    size: int | None = None,
    approx_size: str = "",
    download: bool = True,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """The verified local path of a published file, downloading it only if needed.

    Args:
        url_or_urls: one URL or mirrors tried in order.
        filename: the original file name; the file lives at ``data_dir()/dataset/filename``.
        sha256: published SHA-256, or :data:`UNKNOWN`/None (then ``md5`` or trust on first use).
        dataset: registry name, used for the cache folder and in every message.
        md5: published MD5, checked when no SHA-256 is known.
        size: exact published size in bytes, checked when given.
        approx_size: human-readable size for the offline message.
        download: False forbids the network for this call (like ``TLH_OFFLINE=1``).
        progress: show a tqdm progress bar while downloading.
        timeout: seconds without data before a connection is abandoned.

    Raises:
        DatasetUnavailableError: not cached and offline, or every mirror failed
            (HTTP error, refused connection, timeout, interrupted transfer).
        ChecksumError: the cached file is wrong and we may not re-download, or every
            download differs from the published checksum. No bad file is left in the cache.
    """
    path, _ = ensure_file(url_or_urls, filename, sha256, dataset=dataset, md5=md5, size=size,
                          approx_size=approx_size, download=download, progress=progress,
                          timeout=timeout)
    return path
