"""Framework adapters: tlhelpers.keras.data.to_tf_dataset and tlhelpers.torch.data.to_dataloader."""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers.data import from_arrays, load_dataset


@pytest.fixture(scope="module")
def images():
    return load_dataset("digits", "test", n=50, seed=0)


@pytest.fixture(scope="module")
def texts():
    return load_dataset("text-docstrings", "test", n=20, seed=0)


# ---------------------------------------------------------------- Keras / tf.data
@pytest.mark.keras
def test_tf_dataset_batches(images):
    import tensorflow as tf

    from tlhelpers.keras.data import to_tf_dataset

    batches = list(to_tf_dataset(images, batch_size=16))
    assert [int(b[0].shape[0]) for b in batches] == [16, 16, 16, 2]
    xb, yb = batches[0]
    assert xb.dtype == tf.float32 and tuple(xb.shape[1:]) == (32, 32, 3)
    assert yb.dtype == tf.int64
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), images.x)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), images.y)
    assert len(list(to_tf_dataset(images, batch_size=16, drop_remainder=True))) == 3


@pytest.mark.keras
def test_tf_dataset_shuffle_is_seeded(images):
    from tlhelpers.keras.data import to_tf_dataset

    def order(seed):
        return np.concatenate([b[1].numpy() for b in to_tf_dataset(images, 10, shuffle=True, seed=seed)])

    def first_pixels(seed):
        return np.concatenate([b[0].numpy()[:, 16, 16, 0] for b in to_tf_dataset(images, 10, shuffle=True, seed=seed)])

    a, b, c = first_pixels(1), first_pixels(1), first_pixels(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sorted(order(1).tolist()) == sorted(images.y.tolist())


@pytest.mark.keras
def test_tf_dataset_augment_and_text(images, texts):
    import keras
    import tensorflow as tf

    from tlhelpers.keras.data import to_tf_dataset

    flipped = next(iter(to_tf_dataset(images, 8, augment=lambda x: tf.reverse(x, axis=[2]))))[0].numpy()
    np.testing.assert_allclose(flipped, images.x[:8, :, ::-1])
    layer = keras.layers.RandomFlip("horizontal", seed=0)
    out = next(iter(to_tf_dataset(images, 8, augment=layer)))[0]
    assert tuple(out.shape) == (8, 32, 32, 3)
    xb, yb = next(iter(to_tf_dataset(texts, 5)))
    assert xb.dtype == tf.string and [t.decode() for t in xb.numpy()] == texts.x[:5]
    np.testing.assert_array_equal(yb.numpy(), texts.y[:5])


@pytest.mark.keras
def test_tf_dataset_trains_a_model(images):
    import keras

    from tlhelpers.keras.data import to_tf_dataset

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(to_tf_dataset(images, 16, shuffle=True), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(hist.history["loss"][0])


@pytest.mark.keras
def test_tf_dataset_bad_arguments(images):
    from tlhelpers.keras.data import to_tf_dataset

    with pytest.raises(ValueError, match="batch_size"):
        to_tf_dataset(images, batch_size=0)
    with pytest.raises(TypeError, match="from_arrays"):
        to_tf_dataset(images.x, batch_size=4)


# ---------------------------------------------------------------- PyTorch
@pytest.mark.torch
def test_dataloader_batches(images):
    import torch

    from tlhelpers.torch.data import to_dataloader

    loader = to_dataloader(images, batch_size=16)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [16, 16, 16, 2]
    xb, yb = batches[0]
    assert xb.dtype == torch.float32 and tuple(xb.shape) == (16, 3, 32, 32)
    assert yb.dtype == torch.int64
    np.testing.assert_array_equal(torch.cat([b[0] for b in batches]).permute(0, 2, 3, 1).numpy(), images.x)
    np.testing.assert_array_equal(torch.cat([b[1] for b in batches]).numpy(), images.y)
    assert len(list(to_dataloader(images, batch_size=16, drop_remainder=True))) == 3
    if not torch.cuda.is_available():
        assert loader.num_workers == 0 and not loader.pin_memory


@pytest.mark.torch
def test_dataloader_shuffle_is_seeded(images):
    import torch

    from tlhelpers.torch.data import to_dataloader

    def order(seed):
        return torch.cat([b[1] for b in to_dataloader(images, 10, shuffle=True, seed=seed)]).numpy()

    def pixels(seed):
        return torch.cat([b[0][:, 0, 16, 16] for b in to_dataloader(images, 10, shuffle=True, seed=seed)]).numpy()

    np.testing.assert_array_equal(pixels(1), pixels(1))
    assert not np.array_equal(pixels(1), pixels(2))
    assert sorted(order(1).tolist()) == sorted(images.y.tolist())
    loader = to_dataloader(images, 10, shuffle=True, seed=1)
    first, second = [torch.cat([b[1] for b in loader]) for _ in range(2)]
    assert not torch.equal(first, second)  # reshuffled every epoch


@pytest.mark.torch
def test_dataloader_augment_text_and_grey():
    import torch

    from tlhelpers.torch.data import to_dataloader

    ds = from_arrays(np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4), [0, 1])
    xb, _ = next(iter(to_dataloader(ds, 2, augment=lambda x: torch.flip(x, dims=[3]))))
    assert tuple(xb.shape) == (2, 1, 4, 4)
    np.testing.assert_allclose(xb[:, 0].numpy(), ds.x[:, :, ::-1, 0])
    texts = load_dataset("text-docstrings", "test", n=20, seed=0)
    xb, yb = next(iter(to_dataloader(texts, 5)))
    assert isinstance(xb, list) and xb == texts.x[:5] and yb.dtype == torch.int64


@pytest.mark.torch
def test_dataloader_bad_arguments(images):
    from tlhelpers.torch.data import to_dataloader

    with pytest.raises(ValueError, match="batch_size"):
        to_dataloader(images, batch_size=-1)
    with pytest.raises(ValueError, match="num_workers"):
        to_dataloader(images, num_workers=-2)
    with pytest.raises(TypeError, match="from_arrays"):
        to_dataloader(images.x)


@pytest.mark.keras
@pytest.mark.torch
def test_both_tracks_yield_the_same_batches(images):
    from tlhelpers.keras.data import to_tf_dataset
    from tlhelpers.torch.data import to_dataloader

    for (xk, yk), (xt, yt) in zip(to_tf_dataset(images, 16), to_dataloader(images, 16)):
        np.testing.assert_array_equal(xk.numpy(), xt.permute(0, 2, 3, 1).numpy())
        np.testing.assert_array_equal(yk.numpy(), yt.numpy())
