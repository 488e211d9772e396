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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .download import UNKNOWN, RemoteFile, cache_path, ensure_file
from .errors import DatasetError, DatasetUnavailableError
from .readers import (
    images_to_float,
    read_glue_tsv,
    read_idx,
    read_image_folder_archive,
    read_labelled_image_archive,
    read_libsvm,
    read_medmnist_npz,
    read_uci_sentences,
    resize_images,
    sample_indices,
)

__all__ = ["REAL_DATASETS", "DatasetInfo", "ReadOptions", "load_real", "offline_instructions",
           "real_dataset_names", "registry_table"]

DIGITS = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class ReadOptions:
    """What a caller may ask of a reader: size cap, sample seed, image size."""

    n: int | None = None
    seed: int = 0
    image_size: int | None = None


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
    """Sample (unless the reader did), convert to float32 NHWC [0,1], resize if asked."""
    if not already_sampled:
        idx = sample_indices(len(labels), opts.n, opts.seed)
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
    return x, y, {}


def _read_mnist_m(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    images, labels = read_labelled_image_archive(
        paths["archive"], f"mnist_m_{split}_labels.txt", f"mnist_m_{split}",
        image_size=opts.image_size, mode="RGB", n=opts.n, seed=opts.seed)
    x, y = _finish_images(images, labels, opts, already_sampled=True)
    return x, y, {}


def _read_usps(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    feats, raw = read_libsvm(paths[split], n_features=256)
    if raw.size and (raw.min() < 1 or raw.max() > 10):
        raise DatasetError(f"USPS {split}: LIBSVM labels should be 1..10, got "
                           f"{raw.min()}..{raw.max()}.")
    # LIBSVM scales pixels to [-1, 1]; label k stands for digit k-1 (as torchvision reads it).
    images = np.clip((feats.reshape(-1, 16, 16) + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
    idx = sample_indices(len(raw), opts.n, opts.seed)
    x = images[idx][..., None]
    if opts.image_size is not None:
        x = resize_images(x, opts.image_size)
    return x, raw[idx] - 1, {}


def _read_medmnist(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    images, labels = read_medmnist_npz(paths["npz"], split)
    if labels.size and labels.max() >= len(info.class_names):
        raise DatasetError(f"{info.name} {split}: label {labels.max()} but only "
                           f"{len(info.class_names)} classes.")
    x, y = _finish_images(images, labels, opts)
    return x, y, {}


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
    keep = keep[sample_indices(len(keep), opts.n, opts.seed)]
    # "per_example" tells Dataset.subset to keep meta["domain"] aligned with x and y.
    return ([texts[i] for i in keep], labels[keep],
            {"domain": domains_arr[keep], "per_example": ["domain"]})


def _read_sst2(info: DatasetInfo, paths: Mapping[str, Path], split: str, opts: ReadOptions):
    _check_no_image_opts(info, opts)
    texts, labels = read_glue_tsv(paths["zip"], f"SST-2/{split}.tsv")
    keep = sample_indices(len(labels), opts.n, opts.seed)
    return [texts[i] for i in keep], labels[keep], {}


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
                    "28×28 RGB.",
        reader=_read_mnist_m, split_sizes={"train": 59001, "test": 9001},
        notes="Decoding all 68k PNGs takes a while; pass n= to sample."),
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
            sha256=UNKNOWN, approx_size="< 1 MB",
            note="UCI publishes no checksum: trusted on first use, then recorded.")},
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
              timeout: float = 60.0) -> Dataset:
    """One split of a real dataset in the course's plain form.

    Files come from the cache when present and verified, else from the publisher's
    mirrors (unless ``download=False`` or ``TLH_OFFLINE=1``). Images are float32 NHWC in
    [0, 1] (grayscale as ``H×W×1``); text is a list of strings.

    Args:
        name: a key of :data:`REAL_DATASETS`.
        split: one of the dataset's splits (see ``REAL_DATASETS[name].splits``).
        download: allow the network if a file is missing.
        progress: show download progress bars.
        n: keep a seeded random sample of ``n`` examples (archives decode only those).
        seed: seed of that sample.
        image_size: resize images to ``image_size × image_size``.
        timeout: seconds without data before a download is abandoned.

    Raises:
        DatasetError: unknown name or split, or a malformed file.
        DatasetUnavailableError: a file is missing and cannot be downloaded now.
        ChecksumError: a file does not match its published checksum.
    """
    info = _info(name)
    split = info.resolve_split(split)
    paths: dict[str, Path] = {}
    downloaded = False
    needed = info.files_for(split)
    for key, remote in needed.items():
        try:
            path, fresh = ensure_file(remote.urls, remote.filename, remote.sha256,
                                      dataset=name, md5=remote.md5, size=remote.size,
                                      approx_size=remote.approx_size, download=download,
                                      progress=progress, timeout=timeout)
        except DatasetUnavailableError as exc:
            if len(needed) == 1:
                raise
            # An instructor preparing an offline room wants the whole list at once.
            listing = "\n".join(f"    {r.filename}  ->  {cache_path(name, r.filename)}"
                                 for r in needed.values())
            raise DatasetUnavailableError(
                f"{exc}\nSplit {split!r} of {name!r} needs all of these files:\n{listing}"
            ) from exc
        paths[key] = path
        downloaded |= fresh
    opts = ReadOptions(n=n, seed=seed, image_size=image_size)
    x, y, extra = info.reader(info, paths, split, opts)
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
    return Dataset(x=x, y=y, class_names=list(info.class_names), name=name, split=split,
                   description=info.description, synthetic=False,
                   source="download" if downloaded else "cache", meta=meta)


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
