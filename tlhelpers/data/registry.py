"""The real datasets the course can use when they are cached or downloadable.

Why a registry: every lesson names a dataset (``"mnist-m"``, ``"pneumoniamnist"``…) and
gets the same plain :class:`~tlhelpers.data.dataset.Dataset` whether the file came from
the network now, from the cache, or from a USB stick an instructor copied into
``TLH_DATA_DIR``. One table holds, per dataset, the publisher's files (original names,
mirrors, checksums, sizes), the licence and citation a learner must see, and the reader
for the original format.

Checksum provenance (never invented; a wrong checksum would break every real download):

* MNIST: SHA-256 + MD5 + sizes as listed by torchvision / TFDS for the IDX ``.gz`` files
  (identical on the PyTorch S3 mirror and Google's CVDF mirror).
* MNIST-M: MD5 of Ganin's ``mnist_m.tar.gz`` as used by ``pytorch-adapt`` (Cornell Box
  mirror) and DeepMind's dataset lists (Google-Drive original).
* USPS: MD5s of the LIBSVM ``usps.bz2`` / ``usps.t.bz2`` as listed by torchvision.
* MedMNIST v2: MD5s from the ``INFO`` dict of the ``medmnist`` package (Zenodo 10519652).
* SST-2: SHA-256 + size from TFDS / Hugging Face ``glue`` metadata; MD5 from torchtext.
* Imagenette 160 px: MD5 as listed by torchvision's ``Imagenette``.
* UCI Sentiment Labelled Sentences: no checksum is published → :data:`UNKNOWN`, trusted
  on first use and recorded (see :mod:`tlhelpers.data.download`).

Exact byte sizes are given only where published alongside the checksum; elsewhere
``size`` is None and ``approx_size`` is an indication for humans only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .cache import cached_arrays
from ..checks import LIMITS
from ._common import check_n, check_seed, flag, integer, memory, number
from .download import (DEFAULT_DEADLINE, DEFAULT_TIMEOUT, UNKNOWN, RemoteFile, cache_path,
                       ensure_file, file_digest)
from .errors import DatasetError, DatasetUnavailableError
from .readers import (
    FormatError,
    check_hdf5,
    images_to_float,
    read_glue_tsv,
    read_idx,
    read_image_folder_archive,
    read_labelled_image_archive,
    read_libsvm,
    read_medmnist_npz,
    read_uci_sentences,
    read_usps_hdf5,
    resize_images,
    sample_indices,
)

__all__ = ["REAL_DATASETS", "DatasetInfo", "ReadOptions", "load_real", "offline_instructions",
           "real_dataset_names", "registry_table"]

DIGITS = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class ReadOptions:
    """What a caller may ask of a reader: size cap, sample seed, image size; and the
    checksums of the verified source files (keys of the decoded-array cache)."""

    n: int | None = None
    seed: int = 0
    image_size: int | None = None
    digests: Mapping[str, str] = field(default_factory=dict)


#: reader(info, paths by file key, split, options) -> (x, y, extra meta)
Reader = Callable[["DatasetInfo", Mapping[str, Path], str, ReadOptions],
                  tuple[Any, np.ndarray, dict[str, Any]]]


@dataclass(frozen=True)
class DatasetInfo:
    """Everything the course knows about one real dataset.

    Attributes:
        name: registry key, e.g. ``"mnist"``.
        title: display name.
        files: the publisher's files by role (e.g. ``"train_images"``).
        split_files: which file roles each split needs (others are not downloaded).
        splits: the split names ``load_real`` accepts.
        class_names: name of each label index.
        kind: ``"image"`` or ``"text"``.
        licence, citation, homepage, description: shown to learners with the data.
        reader: parses the original files into ``(x, y, meta)``.
        split_sizes: published number of examples per split (informational).
        split_aliases: other accepted spellings (``"validation"`` → ``"val"``).
        notes: caveats (e.g. a split made by the course, an unknown checksum).
    """

    name: str
    title: str
    files: Mapping[str, RemoteFile]
    split_files: Mapping[str, tuple[str, ...]]
    splits: tuple[str, ...]
    class_names: tuple[str, ...]
    kind: str
    licence: str
    citation: str
    homepage: str
    description: str
    reader: Reader
    split_sizes: Mapping[str, int] = field(default_factory=dict)
    split_aliases: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""

    def resolve_split(self, split: str) -> str:
        """The canonical split name, or a DatasetError listing the valid ones."""
        split = self.split_aliases.get(split, split)
        if split not in self.splits:
            raise DatasetError(f"{self.name!r} has splits {list(self.splits)}, not {split!r}.")
        return split

    def files_for(self, split: str) -> dict[str, RemoteFile]:
        return {k: self.files[k] for k in self.split_files.get(split, tuple(self.files))}


# ============================================================================ readers

def _check_no_image_opts(info: DatasetInfo, opts: ReadOptions) -> None:
    if opts.image_size is not None:
        raise DatasetError(f"{info.name!r} is a text dataset: image_size does not apply.")


def _finish_images(images: np.ndarray, labels: np.ndarray, opts: ReadOptions,
                   already_sampled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sample (stratified, unless the reader did), convert to float32 NHWC [0,1], resize."""
    if not already_sampled:
        idx = sample_indices(len(labels), opts.n, opts.seed, labels=labels)
        images, labels = images[idx], labels[idx]
    x = images_to_float(images)
    if opts.image_size is not None and not already_sampled:
        x = resize_images(x, opts.image_size)
    return x, labels


def _read_mnist(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    images = read_idx(paths[f"{split}_images"])
    labels = read_idx(paths[f"{split}_labels"]).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"MNIST {split}: images {images.shape} and labels {labels.shape} "
                           f"do not pair up.")
    x, y = _finish_images(images, labels, opts)
    return x, y, {"examples_in_split": len(labels)}


def _read_mnist_m(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    archive = paths["archive"]
    labels_member, images_dir = f"mnist_m_{split}_labels.txt", f"mnist_m_{split}"
    digest = opts.digests.get("archive")
    decoded = cache_path(info.name, "decoded") / f"mnist_m_{split}.npz"
    if digest is None or not (decoded.is_file() or _writable(decoded.parent)):
        # Nowhere to keep the decoded split: decode only the sample, as before.
        images, labels = read_labelled_image_archive(
            archive, labels_member, images_dir, image_size=opts.image_size, mode="RGB",
            n=opts.n, seed=opts.seed)
        x, y = _finish_images(images, labels, opts, already_sampled=True)
        return x, y, {}

    def decode() -> dict[str, np.ndarray]:
        images, labels = read_labelled_image_archive(archive, labels_member, images_dir,
                                                     mode="RGB")
        return {"images": images, "labels": labels}

    # Decoding 59,001 PNGs takes a while: the whole split is decoded once, kept as arrays
    # tied to the archive's checksum, and every later load (any n, any seed) samples them.
    arrays = cached_arrays(decoded, digest, decode)
    x, y = _finish_images(arrays["images"], arrays["labels"], opts)
    return x, y, {"examples_in_split": len(arrays["labels"]), "decoded_cache": str(decoded)}


def _writable(folder: Path) -> bool:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return os.access(probe, os.W_OK | os.X_OK)


def _read_usps(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    if _is_hdf5(paths[split]):  # the common HDF5 copy (a local copy, see load_real's path=)
        images, digits = read_usps_hdf5(paths[split], split)
    else:
        feats, raw = read_libsvm(paths[split], n_features=256)
        if raw.size and (raw.min() < 1 or raw.max() > 10):
            raise DatasetError(f"USPS {split}: LIBSVM labels should be 1..10, got "
                               f"{raw.min()}..{raw.max()}.")
        # LIBSVM scales pixels to [-1, 1]; label k stands for digit k-1 (as torchvision reads it).
        images = np.clip((feats.reshape(-1, 16, 16) + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
        digits = raw - 1
    idx = sample_indices(len(digits), opts.n, opts.seed, labels=digits)
    x = images[idx][..., None]
    if opts.image_size is not None:
        x = resize_images(x, opts.image_size)
    return x, digits[idx], {"examples_in_split": len(digits)}


def _is_hdf5(path: Path) -> bool:
    try:
        check_hdf5(path)
    except FormatError:
        return False
    return True


def _read_medmnist(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    images, labels = read_medmnist_npz(paths["npz"], split)
    if labels.size and labels.max() >= len(info.class_names):
        raise DatasetError(f"{info.name} {split}: label {labels.max()} but only "
                           f"{len(info.class_names)} classes.")
    x, y = _finish_images(images, labels, opts)
    return x, y, {"examples_in_split": len(labels)}


def _read_uci(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    _check_no_image_opts(info, opts)
    texts, labels, domains = read_uci_sentences(paths["zip"])
    domains_arr = np.asarray(domains)
    if split in ("amazon", "imdb", "yelp"):
        keep = np.flatnonzero(domains_arr == split)
    elif split in ("train", "test"):
        # No official split exists: a fixed, stratified (source × label) 80/20 course split.
        rng = np.random.default_rng(20150810)
        test_mask = np.zeros(len(labels), dtype=bool)
        for d in np.unique(domains_arr):
            for c in (0, 1):
                idx = np.flatnonzero((domains_arr == d) & (labels == c))
                test_mask[rng.choice(idx, size=round(0.2 * len(idx)), replace=False)] = True
        keep = np.flatnonzero(test_mask if split == "test" else ~test_mask)
    else:  # "all"
        keep = np.arange(len(labels))
    total = len(keep)
    keep = keep[sample_indices(len(keep), opts.n, opts.seed, labels=labels[keep])]
    # "per_example" tells Dataset.subset to keep meta["domain"] aligned with x and y.
    return ([texts[i] for i in keep], labels[keep],
            {"domain": domains_arr[keep], "per_example": ["domain"], "examples_in_split": total})


def _validate_uci(path: Path) -> None:
    """Trust on first use only what parses: three sources, each with labelled sentences."""
    _, _, domains = read_uci_sentences(path)
    missing = [s for s in ("amazon", "imdb", "yelp") if s not in domains]
    if missing:
        raise DatasetError(f"no sentences from {missing}.")


def _read_sst2(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    _check_no_image_opts(info, opts)
    texts, labels = read_glue_tsv(paths["zip"], f"SST-2/{split}.tsv")
    keep = sample_indices(len(labels), opts.n, opts.seed, labels=labels)
    return [texts[i] for i in keep], labels[keep], {"examples_in_split": len(labels)}


IMAGENETTE_WNIDS = ("n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
                    "n03394916", "n03417042", "n03425413", "n03445777", "n03888257")


def _read_imagenette(info: DatasetInfo, paths: Mapping[str, Path], split: str,
                     opts: ReadOptions):
    size = opts.image_size if opts.image_size is not None else 160
    images, labels = read_image_folder_archive(paths["archive"], split, IMAGENETTE_WNIDS,
                                               image_size=size, mode="RGB", n=opts.n,
                                               seed=opts.seed)
    x, y = _finish_images(images, labels, opts, already_sampled=True)
    return x, y, {"wnids": list(IMAGENETTE_WNIDS), "image_size": size}


# ============================================================================ the table

_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                  "https://storage.googleapis.com/cvdf-datasets/mnist/")


def _mnist_file(name: str, sha256: str, md5: str, size: int, approx: str) -> RemoteFile:
    return RemoteFile(name, tuple(m + name for m in _MNIST_MIRRORS), sha256=sha256, md5=md5,
                      size=size, approx_size=approx,
                      note="SHA-256/MD5/size as listed by torchvision and TFDS.")


def _medmnist(name: str, title: str, md5: str, approx: str, classes: tuple[str, ...],
              licence: str, source_citation: str, description: str,
              sizes: dict[str, int]) -> DatasetInfo:
    fname = f"{name}.npz"
    return DatasetInfo(
        name=name, title=title,
        files={"npz": RemoteFile(
            fname, (f"https://zenodo.org/records/10519652/files/{fname}?download=1",
                    f"https://zenodo.org/record/5208230/files/{fname}?download=1"),
            md5=md5, approx_size=approx,
            note="MD5 from the medmnist package INFO dict (same MD5 listed for Zenodo "
                 "records 10519652 and 5208230).")},
        split_files={}, splits=("train", "val", "test"), class_names=classes, kind="image",
        licence=licence,
        citation=("Yang, J., Shi, R., Wei, D., Liu, Z., Zhao, L., Ke, B., Pfister, H., Ni, B. "
                  "(2023). MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D "
                  "biomedical image classification. Scientific Data 10, 41. "
                  f"Source data: {source_citation}"),
        homepage="https://medmnist.com/",
        description=description, reader=_read_medmnist, split_sizes=sizes,
        split_aliases={"validation": "val"},
        notes="28×28 version. Not for clinical use.")


REAL_DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist", title="MNIST handwritten digits",
        files={
            "train_images": _mnist_file(
                "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422, "9.5 MB"),
            "train_labels": _mnist_file(
                "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "d53e105ee54ea40749a09fcbcd1e9432", 28881, "28 KB"),
            "test_images": _mnist_file(
                "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "9fb629c4189551a2d022fa330f9573f3", 1648877, "1.6 MB"),
            "test_labels": _mnist_file(
                "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                "ec29112dd5afa0611ce80d1b7f02629c", 4542, "4.5 KB"),
        },
        split_files={"train": ("train_images", "train_labels"),
                     "test": ("test_images", "test_labels")},
        splits=("train", "test"), class_names=DIGITS, kind="image",
        licence="No licence stated by the authors; redistributed widely for research "
                "(listed as CC BY-SA 3.0 by several dataset hubs).",
        citation="LeCun, Y., Bottou, L., Bengio, Y., Haffner, P. (1998). Gradient-based "
                 "learning applied to document recognition. Proc. IEEE 86(11), 2278-2324.",
        homepage="http://yann.lecun.com/exdb/mnist/",
        description="70,000 28×28 grayscale handwritten digits (NIST writers), "
                    "60,000 for training and 10,000 for testing.",
        reader=_read_mnist, split_sizes={"train": 60000, "test": 10000},
        notes="Original site no longer serves the files; the PyTorch and CVDF mirrors do."),
    "mnist-m": DatasetInfo(
        name="mnist-m", title="MNIST-M (MNIST digits blended over BSDS500 colour patches)",
        files={"archive": RemoteFile(
            "mnist_m.tar.gz",
            ("https://cornell.box.com/shared/static/jado7quprg6hzzdubvwzh9umr75damwi",
             "https://drive.google.com/uc?export=download&id=0B_tExHiYS-0veklUZHFYT19KYjg"
             "&confirm=t"),
            md5="859df31c91afe82e80e5012ba928f279", approx_size="size not published",
            note="Ganin's 'unpacked' release (PNG files + label lists); MD5 as listed by "
                 "pytorch-adapt and DeepMind's dataset lists.")},
        split_files={}, splits=("train", "test"), class_names=DIGITS, kind="image",
        licence="No licence stated; research use. Derived from MNIST and BSDS500 images.",
        citation="Ganin, Y., Lempitsky, V. (2015). Unsupervised domain adaptation by "
                 "backpropagation. ICML. Ganin, Y. et al. (2016). Domain-adversarial "
                 "training of neural networks. JMLR 17(59), 1-35.",
        homepage="http://yaroslav.ganin.net/",
        description="MNIST digits whose strokes invert random colour patches of BSDS500 "
                    "photos; the classic target domain for MNIST→MNIST-M adaptation. "
                    "32×32 RGB.",
        reader=_read_mnist_m, split_sizes={"train": 59001, "test": 9001},
        notes="The first load decodes the split's PNGs (a few seconds per 10,000) and "
              "keeps them as arrays in the cache; later loads read those."),
    "usps": DatasetInfo(
        name="usps", title="USPS handwritten digits (LIBSVM version)",
        files={
            "train": RemoteFile(
                "usps.bz2",
                ("https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.bz2",),
                md5="ec16c51db3855ca6c91edd34d0e9b197", approx_size="a few MB",
                note="MD5 as listed by torchvision's USPS."),
            "test": RemoteFile(
                "usps.t.bz2",
                ("https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
                 "usps.t.bz2",),
                md5="8ea070ee2aca1ac39742fdd1ef5ed118", approx_size="about 1-2 MB",
                note="MD5 as listed by torchvision's USPS."),
        },
        split_files={"train": ("train",), "test": ("test",)},
        splits=("train", "test"), class_names=DIGITS, kind="image",
        licence="No licence stated; distributed for research by the LIBSVM authors.",
        citation="Hull, J. J. (1994). A database for handwritten text recognition research. "
                 "IEEE TPAMI 16(5), 550-554.",
        homepage="https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps",
        description="9,298 16×16 grayscale digits scanned from US Postal Service envelopes "
                    "(7,291 train, 2,007 test); pixels scaled to [-1, 1] by LIBSVM, "
                    "mapped back to [0, 1] here.",
        reader=_read_usps, split_sizes={"train": 7291, "test": 2007}),
    "pneumoniamnist": _medmnist(
        "pneumoniamnist", "PneumoniaMNIST (MedMNIST v2)",
        "28209eda62fecd6e6a2d98b1501bb15f", "≈ 4 MB", ("normal", "pneumonia"), "CC BY 4.0",
        "Kermany, D. S. et al. (2018). Identifying medical diagnoses and treatable diseases "
        "by image-based deep learning. Cell 172(5), 1122-1131.",
        "5,856 paediatric chest X-rays, normal vs pneumonia, centre-cropped and resized "
        "to 28×28 grayscale.", {"train": 4708, "val": 524, "test": 624}),
    "breastmnist": _medmnist(
        "breastmnist", "BreastMNIST (MedMNIST v2)",
        "750601b1f35ba3300ea97c75c52ff8f6", "< 1 MB", ("malignant", "normal, benign"),
        "CC BY 4.0",
        "Al-Dhabyani, W., Gomaa, M., Khaled, H., Fahmy, A. (2020). Dataset of breast "
        "ultrasound images. Data in Brief 28, 104863.",
        "780 breast ultrasound images, malignant vs normal/benign, resized to 28×28 "
        "grayscale.", {"train": 546, "val": 78, "test": 156}),
    "dermamnist": _medmnist(
        "dermamnist", "DermaMNIST (MedMNIST v2)",
        "0744692d530f8e62ec473284d019b0c7", "≈ 20-30 MB",
        ("actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
         "benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi",
         "vascular lesions"),
        "CC BY-NC 4.0 (non-commercial)",
        "Tschandl, P., Rosendahl, C., Kittler, H. (2018). The HAM10000 dataset. "
        "Scientific Data 5, 180161; Codella, N. et al. (2019). Skin lesion analysis "
        "toward melanoma detection 2018. arXiv:1902.03368.",
        "10,015 dermatoscopic images of pigmented skin lesions in 7 classes, resized to "
        "28×28 RGB.", {"train": 7007, "val": 1003, "test": 2005}),
    "uci-sentiment": DatasetInfo(
        name="uci-sentiment", title="UCI Sentiment Labelled Sentences",
        files={"zip": RemoteFile(
            "sentiment labelled sentences.zip",
            ("https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip",
             "https://archive.ics.uci.edu/ml/machine-learning-databases/00331/"
             "sentiment%20labelled%20sentences.zip"),
            sha256=UNKNOWN, approx_size="< 1 MB", validate=_validate_uci,
            note="UCI publishes no checksum: parsed, then trusted on first use and recorded.")},
        split_files={}, splits=("all", "amazon", "imdb", "yelp", "train", "test"),
        class_names=("negative", "positive"), kind="text",
        licence="CC BY 4.0 (UCI Machine Learning Repository).",
        citation="Kotzias, D., Denil, M., de Freitas, N., Smyth, P. (2015). From group to "
                 "individual labels using deep features. KDD.",
        homepage="https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences",
        description="3,000 review sentences (1,000 each from Amazon, IMDb and Yelp, half "
                    "positive), human-labelled 0/1. The source of each sentence is kept in "
                    "meta['domain'], so the set also shows domain shift in text.",
        reader=_read_uci,
        split_sizes={"all": 3000, "amazon": 1000, "imdb": 1000, "yelp": 1000},
        notes="No official split: 'train'/'test' are a fixed 80/20 split stratified by "
              "source and label, made by the course. Splits 'amazon', 'imdb', 'yelp' are "
              "the three sources."),
    "sst2": DatasetInfo(
        name="sst2", title="SST-2 (GLUE Stanford Sentiment Treebank, binary)",
        files={"zip": RemoteFile(
            "SST-2.zip", ("https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",),
            sha256="d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa",
            md5="9f81648d4199384278b86e315dac217c", size=7439277, approx_size="7.1 MB",
            note="SHA-256/size from TFDS and Hugging Face glue metadata; MD5 from torchtext.")},
        split_files={}, splits=("train", "dev"), class_names=("negative", "positive"),
        kind="text",
        licence="No explicit licence; released by Stanford NLP for research "
                "(see https://nlp.stanford.edu/sentiment/).",
        citation="Socher, R. et al. (2013). Recursive deep models for semantic "
                 "compositionality over a sentiment treebank. EMNLP. Wang, A. et al. (2019). "
                 "GLUE: A multi-task benchmark and analysis platform for natural language "
                 "understanding. ICLR.",
        homepage="https://gluebenchmark.com/",
        description="Movie-review sentences and phrases with binary sentiment: 67,349 "
                    "training phrases, 872 dev sentences (GLUE's test labels are hidden).",
        reader=_read_sst2, split_sizes={"train": 67349, "dev": 872},
        split_aliases={"validation": "dev", "val": "dev"}),
    "imagenette": DatasetInfo(
        name="imagenette", title="Imagenette (160 px)",
        files={"archive": RemoteFile(
            "imagenette2-160.tgz",
            ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",),
            md5="e793b78cc4c9e9a4ccc0c1155377a412", approx_size="≈ 95 MB",
            note="MD5 as listed by torchvision's Imagenette.")},
        split_files={}, splits=("train", "val"),
        class_names=("tench", "English springer", "cassette player", "chain saw", "church",
                     "French horn", "garbage truck", "gas pump", "golf ball", "parachute"),
        kind="image",
        licence="Apache-2.0 (fast.ai); the images come from ImageNet and fall under its "
                "terms of access (non-commercial research and education).",
        citation="Howard, J. (2019). Imagenette. https://github.com/fastai/imagenette. "
                 "Images from Deng, J. et al. (2009). ImageNet. CVPR.",
        homepage="https://github.com/fastai/imagenette",
        description="10 easily told-apart ImageNet classes, shorter side 160 px; images "
                    "are resized (shorter side) and centre-cropped to image_size "
                    "(default 160).",
        reader=_read_imagenette, split_sizes={"train": 9469, "val": 3925},
        split_aliases={"validation": "val", "test": "val"},
        notes="Full train split at 160 px is ~2.9 GB as float32: pass n= and image_size=."),
}


# ============================================================================ public API

def real_dataset_names() -> list[str]:
    """Names ``load_real`` accepts."""
    return sorted(REAL_DATASETS)


def _info(name: str) -> DatasetInfo:
    try:
        return REAL_DATASETS[name]
    except KeyError:
        raise DatasetError(f"no real dataset named {name!r}; known: "
                           f"{', '.join(real_dataset_names())}.") from None


def load_real(name: str, split: str, *, download: bool = True, progress: bool = True,
              n: int | None = None, seed: int = 0, image_size: int | None = None,
              timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE,
              path: str | os.PathLike | None = None) -> Dataset:
    """One split of a real dataset in the course's plain form.

    Files come from the cache when present and verified, else from the publisher's
    mirrors (unless ``download=False`` or ``TLH_OFFLINE=1``). Images are float32 NHWC in
    [0, 1] (grayscale as ``H×W×1``); text is a list of strings.

    Args:
        name: a key of :data:`REAL_DATASETS`.
        split: one of the dataset's splits (see ``REAL_DATASETS[name].splits``).
        download: allow the network if a file is missing.
        progress: show download progress bars.
        n: keep a seeded sample of ``n`` examples, stratified by class like the embedded
            datasets' (archives decode only those).
        seed: seed of that sample.
        image_size: resize images to ``image_size × image_size``.
        timeout: seconds without data before a download is abandoned.
        deadline: seconds one file's download may take in all.
        path: **your own copy** of the dataset, verified by you but not byte-identical to
            the published file, so its checksum cannot match: a re-saved MedMNIST
            ``.npz``, the unpacked MNIST-M folder (``mnist_m/`` with its label lists), the
            common HDF5 copy of USPS (``usps.h5``), a folder of decompressed MNIST IDX
            files, or any archive unpacked into a folder. It is read by the same reader,
            which checks its structure, and the example count is compared with the
            published one (a warning if it differs). The result keeps the dataset's
            licence and citation, with ``source="local copy"``.

    Raises:
        DatasetError: unknown name or split, or a malformed file.
        DatasetUnavailableError: a file is missing and cannot be obtained now (subclasses:
            ChecksumError for a file that is not the published one, CacheDirError for a
            cache folder that cannot be written).
    """
    info = _info(name)
    if not isinstance(split, str):
        raise DatasetError(f"split must be one of {list(info.splits)}, got {split!r}.")
    split = info.resolve_split(split)
    n = check_n(n, name=name)
    check_seed(seed)
    if image_size is not None:
        image_size = integer(image_size, "image_size", minimum=1, maximum=LIMITS["image_side"])
        if n is not None or info.split_sizes.get(split):
            memory(n or info.split_sizes[split], (image_size, image_size, 3), "image_size")
    download, progress = flag(download, "download"), flag(progress, "progress")
    timeout = number(timeout, "timeout", minimum=0.0, exclusive_min=True)
    deadline = number(deadline, "deadline", minimum=0.0, exclusive_min=True)
    if path is not None:
        return _load_local(info, split, path, ReadOptions(n=n, seed=seed, image_size=image_size))
    paths: dict[str, Path] = {}
    digests: dict[str, str] = {}
    downloaded = False
    needed = info.files_for(split)
    for key, remote in needed.items():
        try:
            path_, fresh = ensure_file(remote.urls, remote.filename, remote.sha256,
                                       dataset=name, md5=remote.md5, size=remote.size,
                                       approx_size=remote.approx_size, download=download,
                                       progress=progress, timeout=timeout, deadline=deadline,
                                       validate=remote.validate)
        except DatasetUnavailableError as exc:
            if len(needed) == 1:
                raise
            # An instructor preparing an offline room wants the whole list at once.
            listing = "\n".join(f"    {r.filename}\n      from {' or '.join(r.urls)}\n"
                                 f"      to   {cache_path(name, r.filename)}"
                                 for r in needed.values())
            raise type(exc)(
                f"{exc}\nSplit {split!r} of {name!r} needs all of these files:\n{listing}"
            ) from exc
        paths[key] = path_
        digests[key] = remote.sha256 if remote.sha256 != UNKNOWN else (remote.md5 or "")
        downloaded |= fresh
    opts = ReadOptions(n=n, seed=seed, image_size=image_size,
                       digests={k: v for k, v in digests.items() if v})
    x, y, extra = info.reader(info, paths, split, opts)
    return _dataset(info, split, x, y, extra, paths, n=n, seed=seed,
                    source="download" if downloaded else "cache")


def _dataset(info: DatasetInfo, split: str, x, y, extra: dict[str, Any],
             paths: Mapping[str, Path], *, n: int | None, seed: int, source: str) -> Dataset:
    meta: dict[str, Any] = {
        "title": info.title,
        "licence": info.licence,
        "citation": info.citation,
        "homepage": info.homepage,
        "files": {k: str(p) for k, p in paths.items()},
        "published_size": info.split_sizes.get(split),
        "sampled": n is not None,
        "seed": seed,
        "notes": info.notes,
        **extra,
    }
    return Dataset(x=x, y=y, class_names=list(info.class_names), name=info.name, split=split,
                   description=info.description, synthetic=False, source=source, meta=meta)


_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


def _local_paths(info: DatasetInfo, split: str, root: Path) -> dict[str, Path]:
    """The user's copy at ``root`` mapped to the file roles the reader of ``split`` needs."""
    needed = info.files_for(split)
    if root.is_file():
        if len(needed) != 1:
            raise DatasetError(
                f"path: split {split!r} of {info.name!r} needs {len(needed)} files "
                f"({', '.join(r.filename for r in needed.values())}); pass the folder holding "
                f"them, got the file {str(root)!r}.")
        return {key: root for key in needed}
    out = {}
    for key, remote in needed.items():
        if remote.filename.lower().endswith(_ARCHIVE_SUFFIXES) and len(needed) == 1:
            out[key] = root  # the archive, unpacked into this folder
            continue
        stem = remote.filename
        for suffix in (".gz", ".bz2"):
            stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
        hits = [root / c for c in dict.fromkeys((remote.filename, stem)) if (root / c).is_file()]
        hits += sorted(p for p in root.iterdir() if p.suffix.lower() in (".h5", ".hdf5"))
        if not hits:
            raise DatasetError(f"path: {str(root)!r} holds no {remote.filename!r} (or {stem!r}), "
                               f"which split {split!r} of {info.name!r} needs.")
        out[key] = hits[0]
    return out


def _load_local(info: DatasetInfo, split: str, path: str | os.PathLike,
                opts: ReadOptions) -> Dataset:
    """A user's own copy of a registry dataset, read by the dataset's reader (see load_real)."""
    import warnings

    if not isinstance(path, (str, os.PathLike)):
        raise DatasetError(f"path must be a file or folder (str or Path), got {path!r}.")
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"path {str(root)!r} does not exist.")
    paths = _local_paths(info, split, root)
    if info.reader is _read_mnist_m:  # decoded-array cache keyed by what was read
        opts = ReadOptions(n=opts.n, seed=opts.seed, image_size=opts.image_size,
                           digests={"archive": _fingerprint(root)})
    x, y, extra = info.reader(info, paths, split, opts)
    published, found = info.split_sizes.get(split), extra.get("examples_in_split")
    matches = None if published is None or found is None else published == found
    if matches is False:
        warnings.warn(f"your copy of {info.name!r} has {found:,} examples in split {split!r}; "
                      f"the published dataset has {published:,}. Numbers you compute on it "
                      "are not comparable with published ones.", stacklevel=3)
    extra = {**extra, "local_copy": str(root), "count_matches_published": matches,
             "verified": ("read and structure-checked by the course's reader; not the "
                          "published file byte for byte, so no checksum was compared")}
    return _dataset(info, split, x, y, extra, paths, n=opts.n, seed=opts.seed,
                    source="local copy")


def _fingerprint(root: Path) -> str:
    """SHA-256 of a file, or of a folder's listing (names, sizes, times): a cache key."""
    import hashlib

    if root.is_file():
        return file_digest(root)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "folder:" + h.hexdigest()


def offline_instructions(name: str | None = None) -> str:
    """What to download and where to put it, for preparing a classroom without internet."""
    names = [name] if name is not None else real_dataset_names()
    lines = []
    for nm in names:
        info = _info(nm)
        lines.append(f"{nm}: {info.title} — licence: {info.licence}")
        for remote in info.files.values():
            check = (f"sha256 {remote.sha256}" if remote.sha256 != UNKNOWN
                     else f"md5 {remote.md5}" if remote.md5 else "no published checksum")
            lines.append(f"  {remote.filename} ({remote.approx_size}; {check})")
            lines.append(f"    from {remote.urls[0]}")
            lines.append(f"    to   {cache_path(nm, remote.filename)}")
    return "\n".join(lines)


def registry_table() -> list[dict[str, Any]]:
    """One row per file: dataset, file, size, checksum status, licence (for docs/README)."""
    rows = []
    for nm in real_dataset_names():
        info = REAL_DATASETS[nm]
        for remote in info.files.values():
            rows.append({"dataset": nm, "file": remote.filename,
                         "size": remote.size if remote.size is not None else remote.approx_size,
                         "checksum": remote.checksum_status(), "licence": info.licence,
                         "url": remote.urls[0]})
    return rows
