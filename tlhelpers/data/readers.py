"""Parsers for the original file formats of the course's real datasets.

Why read the publishers' own formats rather than a converted copy: the files a learner
(or an instructor preparing an offline classroom) downloads by hand from the homepage are
then exactly the files the course reads, and their published checksums keep meaning
something. Every reader checks the structure it relies on and raises
:class:`FormatError` with the file name and what is wrong, instead of returning
silently garbled arrays.

Readers return plain numpy/python objects; ``registry.py`` turns them into a
:class:`~tlhelpers.data.dataset.Dataset`.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from ._common import stratified_indices
from .errors import DatasetError
from .images import resize_images

__all__ = [
    "FormatError",
    "check_hdf5",
    "images_to_float",
    "read_glue_tsv",
    "read_idx",
    "read_image_folder_archive",
    "read_labelled_image_archive",
    "read_libsvm",
    "read_medmnist_npz",
    "read_uci_sentences",
    "read_usps_hdf5",
    "resize_images",
    "sample_indices",
]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class FormatError(DatasetError):
    """A dataset file does not have the structure its publisher documents."""


# --------------------------------------------------------------------------- helpers

def _open_maybe_compressed(path: Path) -> io.BufferedIOBase:
    """Open plain, gzip or bzip2 files alike, by magic bytes rather than by suffix."""
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if magic == b"BZh":
        return bz2.open(path, "rb")
    return open(path, "rb")


def images_to_float(images: np.ndarray) -> np.ndarray:
    """uint8 ``(N, H, W)`` or ``(N, H, W, C)`` → float32 NHWC in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise FormatError(f"expected images of shape (N, H, W[, C]), got {images.shape}.")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    out = images.astype(np.float32)
    if out.size and (out.min() < 0.0 or out.max() > 1.0):
        raise FormatError(f"float images must lie in [0, 1], got [{out.min()}, {out.max()}].")
    return out


def sample_indices(n_total: int, n: int | None, seed: int = 0,
                   labels: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of ``n`` examples drawn without replacement (all when ``n`` is None).

    With ``labels`` the sample is stratified: every class keeps its share of the split
    (as for the embedded datasets), so a small ``n`` is still representative.
    """
    if n is None or n >= n_total:
        return np.arange(n_total)
    if n <= 0:
        raise DatasetError(f"n must be positive, got {n}.")
    rng = np.random.default_rng(seed)
    if labels is not None:
        return stratified_indices(np.asarray(labels), n, rng)
    return np.sort(rng.choice(n_total, size=n, replace=False))


def _decode_image(data: bytes, name: str, *, mode: str | None, size: int | None) -> np.ndarray:
    """Bytes of an image file → uint8 HWC array, optionally resized and centre-cropped."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise FormatError(f"{name}: not a readable image ({exc}).") from exc
    if mode is not None and img.mode != mode:
        img = img.convert(mode)
    elif img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    if size is not None:
        # Shorter side → size, then centre crop: the usual ImageNet-style evaluation crop.
        w, h = img.size
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        img = img.resize((nw, nh), Image.BILINEAR)
        left, top = (nw - size) // 2, (nh - size) // 2
        img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


class _Archive:
    """The same tiny interface over tar(.gz/.bz2/.xz) and zip archives, and over a folder
    holding an archive's unpacked content (members are then paths relative to it)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._dir = self.path if self.path.is_dir() else None
        if self._dir is not None:
            self._zip = self._tar = None
        elif zipfile.is_zipfile(self.path):
            self._zip: zipfile.ZipFile | None = zipfile.ZipFile(self.path)
            self._tar = None
        else:
            try:
                self._tar = tarfile.open(self.path, "r:*")
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise FormatError(f"{self.path.name}: not a zip or tar archive ({exc}).") from exc
            self._zip = None
        self._members: dict[str, object] | None = None

    def __enter__(self) -> "_Archive":
        return self

    def __exit__(self, *exc) -> None:
        if self._dir is None:
            (self._zip or self._tar).close()

    def names(self) -> list[str]:
        """Regular-file member names, in archive order (sequential reads stay cheap)."""
        if self._members is None:
            try:
                if self._dir is not None:
                    self._members = {p.relative_to(self._dir).as_posix(): p
                                     for p in sorted(self._dir.rglob("*")) if p.is_file()}
                elif self._zip is not None:
                    self._members = {i.filename: i for i in self._zip.infolist() if not i.is_dir()}
                else:
                    self._members = {m.name: m for m in self._tar.getmembers() if m.isfile()}
            except (tarfile.TarError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise FormatError(f"{self.path.name}: damaged archive ({exc}).") from exc
        return list(self._members)

    def read(self, name: str) -> bytes:
        self.names()
        member = self._members.get(name)
        if member is None:
            raise FormatError(f"{self.path.name}: has no member {name!r}.")
        try:
            if self._dir is not None:
                return member.read_bytes()
            if self._zip is not None:
                return self._zip.read(member)
            fh = self._tar.extractfile(member)
            return fh.read()
        except (tarfile.TarError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise FormatError(f"{self.path.name}: cannot read {name!r} ({exc}).") from exc

    def read_many(self, names: Sequence[str]) -> list[bytes]:
        """Read several members, visiting them in archive order.

        A compressed tar can only be read forwards cheaply: every backward seek restarts
        decompression from the beginning, so reading members out of order is quadratic.
        """
        order = {n: i for i, n in enumerate(self.names())}
        missing = [n for n in names if n not in order]
        if missing:
            raise FormatError(f"{self.path.name}: has no member {missing[0]!r}.")
        result: list[bytes] = [b""] * len(names)
        for k in sorted(range(len(names)), key=lambda k: order[names[k]]):
            result[k] = self.read(names[k])
        return result


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p == "__MACOSX" or p.startswith("._") or p == ".DS_Store" for p in parts)


def _find_member(names: Iterable[str], suffix: str, archive: str) -> str:
    """The one member whose path ends with ``suffix`` (publishers nest folders differently)."""
    hits = [n for n in names if not _is_junk(n) and (n == suffix or n.endswith("/" + suffix))]
    if not hits:
        raise FormatError(f"{archive}: no member ending in {suffix!r}.")
    if len(hits) > 1:
        hits.sort(key=len)
    return hits[0]


# --------------------------------------------------------------------------- MNIST: IDX

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format), gzipped or not.

    Layout: two zero bytes, a type byte, a byte giving the number of dimensions, then
    one big-endian uint32 per dimension, then the data in C order.
    """
    path = Path(path)
    try:
        with _open_maybe_compressed(path) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise FormatError(f"{path.name}: cannot decompress ({exc}).") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise FormatError(f"{path.name}: not an IDX file (bad magic number {raw[:4].hex()}).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise FormatError(f"{path.name}: truncated IDX header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise FormatError(f"{path.name}: header announces shape {shape} ({expected:,} bytes) "
                          f"but the file holds {len(raw) - header:,} data bytes.")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------- MedMNIST npz

_MEDMNIST_SPLITS = ("train", "val", "test")


def read_medmnist_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, ``N×28×28`` or ``N×28×28×3``) and labels (int64, ``N``) of one split.

    MedMNIST v2 files hold ``{split}_images`` and ``{split}_labels`` (labels ``N×1``)
    for ``split`` in train / val / test.
    """
    path = Path(path)
    if split not in _MEDMNIST_SPLITS:
        raise DatasetError(f"MedMNIST splits are {_MEDMNIST_SPLITS}, got {split!r}.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            need = {f"{split}_images", f"{split}_labels"}
            if not need <= keys:
                raise FormatError(f"{path.name}: missing keys {sorted(need - keys)}; "
                                  f"found {sorted(keys)}.")
            images = npz[f"{split}_images"]
            labels = npz[f"{split}_labels"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"{path.name}: not a readable .npz file ({exc}).") from exc
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise FormatError(f"{path.name}: {split}_images should be uint8 N×H×W[×C], "
                          f"got {images.dtype} {images.shape}.")
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] != 1:
        raise FormatError(f"{path.name}: {split}_labels has shape {labels.shape}; "
                          f"multi-label MedMNIST sets are not supported here.")
    labels = labels.reshape(-1).astype(np.int64)
    if len(labels) != len(images):
        raise FormatError(f"{path.name}: {len(images)} {split} images but {len(labels)} labels.")
    return images, labels


# --------------------------------------------------------------------------- UCI sentences

UCI_SOURCES = ("amazon", "imdb", "yelp")


def _decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _parse_tab_labelled(text: str, name: str) -> tuple[list[str], list[int]]:
    """Lines ``sentence<TAB>label`` (label 0/1); blank lines are skipped."""
    texts: list[str] = []
    labels: list[int] = []
    # Lines end at "\n" only: str.splitlines() would also split at U+0085 (NEL), U+2028
    # and the like, which real copies of the data carry *inside* sentences after a
    # cp1252 -> Latin-1 -> UTF-8 round trip.
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        sentence, sep, label = line.rstrip("\r\n").rpartition("\t")
        label = label.strip()
        if not sep or label not in ("0", "1"):
            raise FormatError(f"{name}, line {lineno}: expected 'sentence<TAB>0|1', "
                              f"got {line[:80]!r}.")
        texts.append(sentence.strip())
        labels.append(int(label))
    return texts, labels


def read_uci_sentences(path: Path, sources: Sequence[str] = UCI_SOURCES
                       ) -> tuple[list[str], np.ndarray, list[str]]:
    """Sentences, 0/1 labels and source ("amazon", "imdb", "yelp") from the UCI zip.

    The archive holds ``sentiment labelled sentences/{amazon_cells,imdb,yelp}_labelled.txt``
    (plus a readme and, in some copies, ``__MACOSX`` resource forks, which are ignored).
    """
    path = Path(path)
    files = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt",
             "yelp": "yelp_labelled.txt"}
    texts: list[str] = []
    labels: list[int] = []
    domains: list[str] = []
    with _Archive(path) as arc:
        names = arc.names()
        for source in sources:
            if source not in files:
                raise DatasetError(f"UCI sources are {UCI_SOURCES}, got {source!r}.")
            member = _find_member(names, files[source], path.name)
            t, y = _parse_tab_labelled(_decode_text(arc.read(member)), f"{path.name}:{member}")
            texts += t
            labels += y
            domains += [source] * len(t)
    return texts, np.asarray(labels, dtype=np.int64), domains


# --------------------------------------------------------------------------- GLUE tsv

def read_glue_tsv(path: Path, member: str, *, text_column: str = "sentence",
                  label_column: str = "label") -> tuple[list[str], np.ndarray]:
    """Texts and int labels from a GLUE ``.tsv`` inside its zip (e.g. ``SST-2/train.tsv``).

    GLUE tsv files have a header row and no quoting (sentences may contain ``"``), so
    they are split on tabs without csv quoting rules.
    """
    path = Path(path)
    if path.is_dir() or zipfile.is_zipfile(path):
        with _Archive(path) as arc:
            name = _find_member(arc.names(), member, path.name)
            raw = arc.read(name)
        where = f"{path.name}:{name}"
    else:
        raw = path.read_bytes()
        where = path.name
    rows = list(csv.reader(io.StringIO(_decode_text(raw)), delimiter="\t",
                           quoting=csv.QUOTE_NONE))
    rows = [r for r in rows if r]
    if not rows:
        raise FormatError(f"{where}: empty file.")
    header = [h.strip() for h in rows[0]]
    if text_column not in header or label_column not in header:
        raise FormatError(f"{where}: header {header} lacks {text_column!r}/{label_column!r} "
                          f"(the unlabelled GLUE test split cannot be used for training).")
    ti, li = header.index(text_column), header.index(label_column)
    texts: list[str] = []
    labels: list[int] = []
    for lineno, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise FormatError(f"{where}, line {lineno}: {len(row)} fields, header has "
                              f"{len(header)}.")
        try:
            labels.append(int(row[li]))
        except ValueError:
            raise FormatError(f"{where}, line {lineno}: label {row[li]!r} is not an integer."
                              ) from None
        texts.append(row[ti].strip())
    return texts, np.asarray(labels, dtype=np.int64)


# --------------------------------------------------------------------------- LIBSVM

def read_libsvm(path: Path, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense features ``(N, n_features)`` float32 and raw int labels from LIBSVM text.

    Each line is ``label index:value ...`` with 1-based indices; omitted indices are 0.
    Plain, ``.bz2`` and ``.gz`` files are accepted.
    """
    path = Path(path)
    try:
        with _open_maybe_compressed(path) as fh:
            lines = fh.read().decode("ascii").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path.name}: cannot read as LIBSVM text ({exc}).") from exc
    lines = [ln for ln in lines if ln.strip()]
    x = np.zeros((len(lines), n_features), dtype=np.float32)
    y = np.empty(len(lines), dtype=np.int64)
    for row, line in enumerate(lines):
        parts = line.split()
        try:
            y[row] = int(float(parts[0]))
            for item in parts[1:]:
                idx, val = item.split(":", 1)
                j = int(idx) - 1
                if not 0 <= j < n_features:
                    raise FormatError(f"{path.name}, line {row + 1}: feature index {idx} "
                                      f"outside 1..{n_features}.")
                x[row, j] = float(val)
        except FormatError:
            raise
        except (ValueError, IndexError):
            raise FormatError(f"{path.name}, line {row + 1}: not 'label index:value ...': "
                              f"{line[:60]!r}.") from None
    return x, y


def check_hdf5(path: Path) -> None:
    """A :class:`FormatError` unless ``path`` starts with the HDF5 signature (weights, USPS)."""
    with open(path, "rb") as fh:
        if fh.read(8) != b"\x89HDF\r\n\x1a\n":
            raise FormatError(f"{Path(path).name}: not an HDF5 file.")


def read_usps_hdf5(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 16, 16)`` float32 in [0, 1] and digit labels from the common HDF5 copy
    of USPS (``usps.h5``: groups ``train`` and ``test``, each with ``data`` ``(N, 256)``
    in [0, 1] and ``target`` ``(N,)`` digits 0-9), e.g. the one shared on Kaggle."""
    path = Path(path)
    try:
        import h5py
    except ImportError as exc:
        raise FormatError(f"{path.name}: reading an HDF5 file needs h5py "
                          "(pip install h5py).") from exc
    try:
        with h5py.File(path, "r") as h5:
            if split not in h5 or "data" not in h5[split] or "target" not in h5[split]:
                raise FormatError(f"{path.name}: expected groups train/test with datasets "
                                  f"'data' and 'target'; found {sorted(h5)}.")
            data = np.asarray(h5[split]["data"], dtype=np.float32)
            target = np.asarray(h5[split]["target"]).astype(np.int64).reshape(-1)
    except OSError as exc:
        raise FormatError(f"{path.name}: not a readable HDF5 file ({exc}).") from exc
    if data.ndim != 2 or data.shape[1] != 256 or len(data) != len(target):
        raise FormatError(f"{path.name}: {split}/data should be (N, 256) with N targets, got "
                          f"{data.shape} and {target.shape}.")
    if data.size and (data.min() < 0 or data.max() > 1):
        raise FormatError(f"{path.name}: {split}/data should lie in [0, 1], got "
                          f"[{data.min():.3g}, {data.max():.3g}].")
    if target.size and (target.min() < 0 or target.max() > 9):
        raise FormatError(f"{path.name}: {split}/target should be digits 0-9, got "
                          f"{target.min()}..{target.max()}.")
    return data.reshape(-1, 16, 16), target


# --------------------------------------------------------------------------- image archives

def read_image_folder_archive(
    path: Path,
    split_dir: str,
    class_dirs: Sequence[str],
    *,
    image_size: int | None = None,
    mode: str | None = "RGB",
    n: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Images under ``<anything>/<split_dir>/<class_dir>/<file>`` in a tar or zip archive.

    Only the members of the requested split (and, with ``n``, a seeded random sample of
    them) are decoded. Labels are indices into ``class_dirs``; unknown class folders are
    an error so that a different archive is not silently mislabelled.
    """
    path = Path(path)
    index = {c: i for i, c in enumerate(class_dirs)}
    picked: list[tuple[str, int]] = []
    with _Archive(path) as arc:
        for name in arc.names():
            if _is_junk(name) or PurePosixPath(name).suffix.lower() not in _IMAGE_SUFFIXES:
                continue
            parts = PurePosixPath(name).parts
            if len(parts) < 3 or parts[-3] != split_dir:
                continue
            cls = parts[-2]
            if cls not in index:
                raise FormatError(f"{path.name}: unexpected class folder {cls!r} in {name!r}.")
            picked.append((name, index[cls]))
        if not picked:
            raise FormatError(f"{path.name}: no images under a {split_dir!r} folder.")
        chosen = sample_indices(len(picked), n, seed, labels=[c for _, c in picked])
        members = [picked[i][0] for i in chosen]
        images = [_decode_image(data, name, mode=mode, size=image_size)
                  for name, data in zip(members, arc.read_many(members))]
    labels = np.asarray([picked[i][1] for i in chosen], dtype=np.int64)
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise FormatError(f"{path.name}: images differ in size {sorted(shapes)[:3]}…; "
                          f"pass image_size to resize them.")
    return np.stack(images), labels


def read_labelled_image_archive(
    path: Path,
    labels_member: str,
    images_dir: str,
    *,
    image_size: int | None = None,
    mode: str | None = "RGB",
    n: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Images listed in a ``<file name> <label>`` text file inside an archive.

    This is the layout of Ganin's MNIST-M ``mnist_m.tar.gz``: ``mnist_m/mnist_m_train/``
    holds PNGs and ``mnist_m/mnist_m_train_labels.txt`` lines like ``00000000.png 5``.
    """
    path = Path(path)
    with _Archive(path) as arc:
        names = arc.names()
        label_name = _find_member(names, labels_member, path.name)
        entries: list[tuple[str, int]] = []
        for lineno, line in enumerate(_decode_text(arc.read(label_name)).split("\n"), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise FormatError(f"{path.name}:{label_name}, line {lineno}: expected "
                                  f"'<file> <label>', got {line[:60]!r}.")
            entries.append((parts[0], int(parts[1])))
        if not entries:
            raise FormatError(f"{path.name}:{label_name}: no entries.")
        available = {n_ for n_ in names if not _is_junk(n_)}
        prefix = label_name.rsplit("/", 1)[0] + "/" if "/" in label_name else ""
        chosen = sample_indices(len(entries), n, seed, labels=[c for _, c in entries])
        members = []
        for i in chosen:
            member = f"{prefix}{images_dir}/{entries[i][0]}"
            if member not in available:
                raise FormatError(f"{path.name}: {label_name} lists {entries[i][0]!r} but "
                                  f"{member!r} is not in the archive.")
            members.append(member)
        images = [_decode_image(data, name, mode=mode, size=image_size)
                  for name, data in zip(members, arc.read_many(members))]
    labels = np.asarray([entries[i][1] for i in chosen], dtype=np.int64)
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise FormatError(f"{path.name}: images differ in size {sorted(shapes)[:3]}…; "
                          f"pass image_size to resize them.")
    return np.stack(images), labels
