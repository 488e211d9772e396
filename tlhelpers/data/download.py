"""Fetch one dataset file into the cache, verified, or say exactly how to put it there.

Why this module exists: a course that runs in classrooms without internet, on Colab and
on CI must never (a) touch the network when the right file is already cached, (b) leave
a half-written or wrong file that a later run would trust, or (c) fail with a message
that does not tell the learner what to do. So:

* the cache is ``data_dir()/<dataset>/<original file name>`` — an instructor prepares an
  offline classroom by copying the published files there, under their published names
  (see :mod:`tlhelpers.data.cache` for the folder's rules: location, permissions);
* a cached file is used only after its checksum matches (no request is made at all);
* a download goes to a temporary ``.part`` file *in the same directory*, is verified
  (size, checksum, and that it is not a web page) and only then published; a crash, a
  timeout or a truncated transfer leaves nothing the next run would trust, and ``.part``
  files left by a killed process are removed by the next attempt;
* every attempt has a per-read ``timeout`` *and* an overall per-file ``deadline``, so a
  server that trickles bytes cannot hold a lesson for ever;
* ``TLH_OFFLINE=1`` (or ``download=False``) forbids the network; a missing file then
  raises :class:`DatasetUnavailableError` naming the dataset, the file, the URL(s) and
  the exact path to put it at. Every way of not obtaining the genuine file (offline, HTTP
  error, a login page, a wrong checksum, an unusable cache folder) is a
  :class:`DatasetUnavailableError`, so ``load_dataset(..., fallback=...)`` works.

Checksums. We verify SHA-256 when the publisher (or a well-known mirror of its listing)
gives one, else the published MD5 (MedMNIST, torchvision and fast.ai publish MD5s). When
no checksum is published at all (:data:`UNKNOWN`), we *trust on first use*: the first
complete download (or the first file an instructor places in the cache) is **parsed
first** (``validate``; a login page or a truncated archive is deleted, never trusted), then
accepted and its SHA-256 recorded next to it as ``<file>.sha256`` (``sha256sum -c``
format); every later use is checked against that record.

Publishing is first-writer-wins: the verified file is hard-linked into place, which fails
if another process got there first; the loser uses the winner's file. A trust record is
always the digest of the file *at its final place*, so two processes that received
different bytes can never leave a record that disagrees with the file.
"""

from __future__ import annotations

import glob
import hashlib
import http.client
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .. import checks
from .cache import check_writable, data_dir, publish_mode
from .errors import CacheDirError, ChecksumError, DatasetUnavailableError

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
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

#: Seconds without any data before a connection is abandoned (then the next mirror).
DEFAULT_TIMEOUT = 20.0
#: Seconds one file may take in all, every mirror included (a trickling server).
DEFAULT_DEADLINE = 600.0

#: A ``.part`` file of a process that is gone is removed at once; one whose owner cannot be
#: asked (another machine on a shared cache) only when it has not changed for this long.
STALE_PART_SECONDS = 24 * 3600

_CHUNK = 1 << 16
_USER_AGENT = "tlhelpers/0.1 (transfer-learning course; +https://pypi.org/project/tlhelpers/)"
_HOST = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:32] or "host"


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
        validate: for a file without a published checksum, parses it and raises if it is
            not the dataset (checked before it is trusted on first use).
    """

    filename: str
    urls: tuple[str, ...]
    sha256: str = UNKNOWN
    md5: str | None = None
    size: int | None = None
    approx_size: str = ""
    note: str = ""
    validate: Callable[[Path], None] | None = None

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


def _write_record(path: Path) -> None:
    """Record the SHA-256 of ``path`` as it is now (``sha256sum -c`` format), atomically.

    The digest is taken from the published file itself, never from a temporary copy, so
    the record cannot disagree with the file. A read-only cache is left unrecorded.
    """
    rec = _record_path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{rec.name}.", suffix=".tmp", dir=rec.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{file_digest(path, 'sha256')}  {path.name}\n")
        publish_mode(Path(tmp))
        os.replace(tmp, rec)
    except OSError:
        pass
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


def _invalid(path: Path, validate: Callable[[Path], None] | None) -> str | None:
    """None when ``validate`` accepts the file (or there is none), else why not."""
    if validate is None:
        return None
    try:
        validate(path)
    except Exception as err:  # noqa: BLE001 - any failure to parse means "not the dataset"
        return f"{type(err).__name__}: {err}"
    return None


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


class _DeadlineExceeded(TimeoutError):
    """The whole file took longer than its deadline (a server trickling bytes)."""


def _download_one(url: str, tmp: Path, *, expected_size: int | None, timeout: float,
                  ends_at: float, progress: bool, desc: str) -> str:
    """Stream ``url`` into ``tmp``; raise on HTTP errors, stalls, deadlines and short transfers.

    Returns the response's Content-Type (to recognise a login page served with 200).
    """
    remaining = ends_at - time.monotonic()
    if remaining <= 0:
        raise _DeadlineExceeded()
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=min(timeout, remaining)) as response:  # noqa: S310 (http(s) only, checked by caller)
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
                # read1: whatever has arrived (at most one socket read), so the deadline is
                # checked between small reads even when the server sends a byte at a time.
                block = response.read1(_CHUNK)
                if not block:
                    break
                out.write(block)
                received += len(block)
                bar.update(len(block))
                if time.monotonic() > ends_at:
                    raise _DeadlineExceeded()
            out.flush()
            os.fsync(out.fileno())
        content_type = response.headers.get("Content-Type", "") or ""
    if declared is not None and received != declared:
        raise http.client.IncompleteRead(b"", declared - received)
    return content_type


def _describe(exc: BaseException, timeout: float, deadline: float) -> str:
    if isinstance(exc, _DeadlineExceeded):
        return (f"not finished within the deadline of {deadline:g} s (a slow or stalled "
                "server); pass a larger deadline= or download the file by hand")
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, http.client.IncompleteRead):
        return f"transfer interrupted ({exc.expected or '?'} bytes missing)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g} s without data"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"timed out after {timeout:g} s without data"
        return f"cannot connect ({reason})"
    return f"{type(exc).__name__}: {exc}"


def _not_the_file(path: Path, content_type: str) -> str | None:
    """Why ``path`` is surely not a dataset file (an empty body, a web page), or None."""
    size = path.stat().st_size
    if size == 0:
        return "the server sent an empty file"
    with open(path, "rb") as fh:
        head = fh.read(1024).lstrip().lower()
    if head.startswith(b"<") and (b"<html" in head or b"<!doctype html" in head
                                  or "html" in content_type.lower()):
        return ("the server returned a web page, not the file: are you behind a login page "
                "(a captive portal on public Wi-Fi, a proxy)? Open the URL in a browser, log "
                "in, then run this again")
    return None


def _owner_is_gone(path: Path, filename: str) -> bool:
    """True when the process that wrote ``path`` has ended (or it is too old to matter)."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    if age > STALE_PART_SECONDS:
        return True
    tail = path.name[len(filename) + 2:]
    match = re.match(r"(?P<host>[A-Za-z0-9-]*)-(?P<pid>\d+)\.", tail)
    if match is None or match["host"] != _HOST or os.name != "posix":
        return False
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _remove_stale_parts(folder: Path, filename: str) -> None:
    for path in folder.glob(f".{glob.escape(filename)}.*.part"):
        if _owner_is_gone(path, filename):
            path.unlink(missing_ok=True)


def _publish(tmp: Path, dest: Path, usable: Callable[[Path], bool]) -> None:
    """Move the verified ``tmp`` to ``dest``; the first process to publish wins.

    ``os.link`` fails when ``dest`` exists: if that file is ``usable`` (another process
    published a good copy first) it is kept and ours dropped; a bad one is replaced.
    File systems without hard links fall back to an atomic ``os.replace``.
    """
    try:
        os.link(tmp, dest)
        return
    except FileExistsError:
        if usable(dest):
            return
    except OSError:
        pass
    os.replace(tmp, dest)


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
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    validate: Callable[[Path], None] | None = None,
) -> tuple[Path, bool]:
    """Like :func:`fetch`, but also say whether the file was downloaded now (True) or cached."""
    urls = [url_or_urls] if isinstance(url_or_urls, str) else list(url_or_urls)
    sha256 = UNKNOWN if sha256 in (None, "", UNKNOWN) else sha256.lower()
    if not isinstance(filename, str) or os.path.basename(filename) != filename \
            or filename in {"", ".", ".."}:
        checks.fail("filename", "a bare file name", filename)
    timeout = checks.positive_number(timeout, "timeout")
    deadline = checks.positive_number(deadline, "deadline")
    download = checks.flag(download, "download")
    dest = cache_path(dataset, filename)
    tofu = sha256 == UNKNOWN and md5 is None
    validate = validate if tofu else None

    def usable(path: Path) -> bool:
        """A file at ``path`` we may use: it matches its published or recorded checksum,
        or (trust on first use, nothing recorded yet) it parses."""
        recorded = _read_record(path) if tofu else None
        if _check(path, sha256, md5, size, recorded) is not None:
            return False
        return not (tofu and recorded is None and _invalid(path, validate))

    # 1. A cached file that checks out is used without any network access.
    stale_reason = None
    if dest.is_file():
        recorded = _read_record(dest) if tofu else None
        problem = _check(dest, sha256, md5, size, recorded)
        if problem is None and tofu:
            # No checksum pins this file: it must parse, whoever put it there (by hand, or
            # an older version that trusted a login page), before it is (still) trusted.
            invalid = _invalid(dest, validate)
            if invalid is not None:
                problem = f"it is not a valid {filename!r} ({invalid})"
                _delete(dest, f"{dest} is not a valid {filename!r} ({invalid}); it was "
                              "deleted with its trust record, as it would never load.")
            elif recorded is None:
                _write_record(dest)
        if problem is None:
            return dest, False
        stale_reason = f"the cached file {dest} cannot be trusted: {problem}"

    offline = is_offline() or not download
    if offline:
        if stale_reason is not None and dest.is_file():
            raise ChecksumError(
                f"Dataset {dataset!r}: {stale_reason}.\nDelete it, or replace it with the "
                f"genuine file from {' or '.join(urls)}; downloads are switched off "
                f"({OFFLINE_ENV}=1 or download=False) so it was not fetched again.")
        why = (f"downloads are switched off ({OFFLINE_ENV}=1)" if is_offline()
               else "download=False was asked")
        if stale_reason is not None:
            why += f"; {stale_reason}"
        raise DatasetUnavailableError(
            _unavailable_message(dataset, filename, urls, dest, why, approx_size))
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            checks.fail("urls", "http(s) URLs", url)
    if stale_reason is not None:
        warnings.warn(f"{stale_reason}; downloading it again.", stacklevel=3)
        # Gone before the download starts: a racing process then sees no file (and
        # downloads) or our new one, never our new file next to the old record.
        _delete(dest)
    try:
        check_writable(dest.parent)
    except CacheDirError as err:
        raise CacheDirError(_unavailable_message(dataset, filename, urls, dest, str(err),
                                                 approx_size)) from err
    _remove_stale_parts(dest.parent, filename)

    # 2. Download from each mirror in turn into a temporary file next to the destination.
    failures: list[str] = []
    checksum_failures: list[str] = []
    ends_at = time.monotonic() + deadline
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.{_HOST}-{os.getpid()}.",
                                        suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                content_type = _download_one(url, tmp, expected_size=size, timeout=timeout,
                                             ends_at=ends_at, progress=progress, desc=filename)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                failures.append(f"{url}: {_describe(exc, timeout, deadline)}")
                if isinstance(exc, _DeadlineExceeded):
                    break
                continue
            problem = _not_the_file(tmp, content_type)
            if problem is not None:
                failures.append(f"{url}: {problem}")
                continue
            problem = _check(tmp, sha256, md5, size, None)
            if problem is not None:
                msg = f"{url}: the downloaded file is not the published one — {problem}"
                failures.append(msg)
                checksum_failures.append(msg)
                continue
            invalid = _invalid(tmp, validate)
            if invalid is not None:
                failures.append(f"{url}: the downloaded file is not a valid {filename!r} "
                                f"({invalid}); it was deleted, not trusted")
                continue
            publish_mode(tmp)
            _publish(tmp, dest, usable)
            if tofu and _read_record(dest) is None:
                _write_record(dest)
            return dest, True
        finally:
            tmp.unlink(missing_ok=True)

    detail = "\n".join(f"  - {f}" for f in failures)
    if stale_reason is not None:
        detail += f"\n  (and {stale_reason}; it was deleted)"
    if checksum_failures and len(checksum_failures) == len(failures):
        raise ChecksumError(
            f"Dataset {dataset!r}: every download of {filename!r} failed verification; "
            f"nothing was saved.\n{detail}\nA proxy or firewall may have altered the "
            f"transfer; if the publisher changed the file, the course registry must be "
            f"updated. Retry later, or place the genuine file at {dest}.")
    raise DatasetUnavailableError(
        _unavailable_message(dataset, filename, urls, dest,
                             "every download attempt failed; nothing was saved:\n" + detail,
                             approx_size))


def _delete(dest: Path, note: str | None = None) -> None:
    """Remove a cached file we will not use, then its trust record (in that order)."""
    dest.unlink(missing_ok=True)
    _record_path(dest).unlink(missing_ok=True)
    if note:
        warnings.warn(note, stacklevel=4)


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
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    validate: Callable[[Path], None] | None = None,
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
        deadline: seconds the whole file may take, every mirror included.
        validate: for a file without a published checksum: raises if the file does not
            parse as the dataset; such a file is deleted, never trusted.

    Raises:
        DatasetUnavailableError: not cached and offline, or every mirror failed
            (HTTP error, refused connection, timeout, deadline, interrupted transfer, a
            web page or an empty body instead of the file).
        ChecksumError: the cached file is wrong and we may not re-download, or every
            download differs from the published checksum. No bad file is left in the cache.
        CacheDirError: the cache folder cannot be written.
    """
    path, _ = ensure_file(url_or_urls, filename, sha256, dataset=dataset, md5=md5, size=size,
                          approx_size=approx_size, download=download, progress=progress,
                          timeout=timeout, deadline=deadline, validate=validate)
    return path
