"""Tests for transconv.data.dataset and transconv.data.loaders: reading, cropping, caching,
loaders, determinism."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from transconv.data.dataset import VOCSegDataset, collate_normalize, read_examples, read_voc_images
from transconv.data.images import IMAGENET_MEAN, IMAGENET_STD, ImageReadError
from transconv.data.labels import IGNORE_INDEX, write_voc_label
from transconv.data.layout import image_file, label_file, list_examples, split_file
from transconv.data.loaders import load_data_voc, make_loaders, set_loader_epoch
from transconv.data.synthetic import make_synthetic_voc


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    return make_synthetic_voc(root, 5, 3, size=(48, 64), sizes=[(48, 64), (24, 64)], seed=3)


def _write_voc_tree(voc_dir: Path, images: list[np.ndarray], labels: list[np.ndarray]) -> Path:
    """A hand-made VOC tree; images are stored losslessly (PNG bytes under a .jpg name: the
    readers sniff the format). The same list serves train and val."""
    names = [f"2007_{i:06d}" for i in range(len(images))]
    for folder in (
        image_file(voc_dir, "x").parent,
        label_file(voc_dir, "x").parent,
        split_file(voc_dir, "train").parent,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    for name, image, label in zip(names, images, labels, strict=True):
        Image.fromarray(image).save(image_file(voc_dir, name), format="PNG")
        write_voc_label(label_file(voc_dir, name), label)
    for split in ("train", "val"):
        split_file(voc_dir, split).write_text("\n".join(names))
    return voc_dir


def _coordinate_example(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Image whose pixel says where it is (G = x, B = y) and what its label is (R = 12 * label)."""
    y, x = np.mgrid[0:height, 0:width]
    label = ((x // 3 + y // 5) % 21).astype(np.uint8)
    label[::7, ::11] = IGNORE_INDEX
    red = np.where(label == IGNORE_INDEX, 252, 12 * label.astype(np.int64))
    image = np.stack([red, x, y], axis=-1).astype(np.uint8)
    return image, label


def _unnormalize(image: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).reshape(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(3, 1, 1)
    return ((image * std + mean) * 255).round().to(torch.int64)


def _origin(image: torch.Tensor) -> tuple[int, int]:
    """(top, left) of a crop of a coordinate image."""
    corner = _unnormalize(image)[:, 0, 0]
    return int(corner[2]), int(corner[1])


@pytest.fixture(scope="module")
def coordinates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image, label = _coordinate_example(60, 70)
    return _write_voc_tree(tmp_path_factory.mktemp("coords") / "VOC2012", [image] * 6, [label] * 6)


# --- read_voc_images / read_examples ------------------------------------------------------------


def test_read_voc_images_returns_rgb_images_and_label_images(synthetic: Path) -> None:
    features, labels = read_voc_images(synthetic, is_train=True)
    assert len(features) == len(labels) == 5
    assert [tuple(f.shape) for f in features] == [(3, 48, 64), (3, 24, 64)] * 2 + [(3, 48, 64)]
    assert all(f.dtype == labels[0].dtype == torch.uint8 for f in features)
    assert all(f.shape == lab.shape for f, lab in zip(features, labels, strict=True))
    assert len(read_voc_images(synthetic, is_train=False)[0]) == 3


def test_read_examples_palette_and_rgb_paths_agree(synthetic: Path) -> None:
    pairs = list_examples(synthetic, "val")
    images, fast = read_examples(pairs)
    again, slow = read_examples(pairs, use_palette=False)
    assert all(lab.dtype == torch.uint8 and lab.dim() == 2 for lab in fast)
    assert all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(images, again, strict=True))


def test_read_examples_progress_bar(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    read_examples(list_examples(synthetic, "val"), progress=True, desc="val images")
    err = capsys.readouterr().err
    assert "val images" in err and "3/3" in err


# --- VOCSegDataset: filtering, items, errors ----------------------------------------------------


def test_dataset_filters_small_images_and_reports(
    synthetic: Path, capsys: pytest.CaptureFixture
) -> None:
    train = VOCSegDataset(True, (32, 48), synthetic)
    captured = capsys.readouterr()
    assert "read 3 examples (dropped 2 smaller than 32x48)" in captured.out
    assert captured.err == ""  # the decoding bar shows only when decoding takes over a second
    assert (train.num_kept, train.num_dropped, len(train)) == (3, 2, 3)
    val = VOCSegDataset(False, (20, 64), synthetic, verbose=False)
    assert (val.num_kept, val.num_dropped) == (3, 0)
    assert capsys.readouterr() == ("", "")
    assert val.summary() == "read 3 examples (dropped 0 smaller than 20x64)"


@pytest.mark.parametrize("cache", [True, False])
def test_dataset_items(synthetic: Path, cache: bool) -> None:
    dataset = VOCSegDataset(True, (32, 48), synthetic, seed=0, cache=cache, verbose=False)
    image, label = dataset[1]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 48)
    assert label.dtype == torch.int64 and label.shape == (32, 48)
    assert set(label.unique().tolist()) <= {*range(21), 255}
    numpy_ints = VOCSegDataset(True, (np.int64(20), 30), synthetic, verbose=False)
    assert numpy_ints.crop_size == (20, 30) and type(numpy_ints.crop_size[0]) is int
    assert VOCSegDataset(True, 20, synthetic, verbose=False).crop_size == (20, 20)


def test_cache_holds_uint8_and_gives_the_same_items(synthetic: Path) -> None:
    cached = VOCSegDataset(True, (20, 30), synthetic, seed=4, verbose=False)
    lazy = VOCSegDataset(True, (20, 30), synthetic, seed=4, cache=False, verbose=False)
    assert lazy.images == [] and len(cached.images) == len(cached.labels) == 5
    assert all(
        img.dtype == lab.dtype == torch.uint8
        for img, lab in zip(cached.images, cached.labels, strict=True)
    )
    for idx in range(len(cached)):
        for a, b in zip(cached[idx], lazy[idx], strict=True):
            assert torch.equal(a, b)


def test_uint8_items_collate_to_the_float_batches(synthetic: Path) -> None:
    floats = VOCSegDataset(True, (20, 30), synthetic, seed=2, verbose=False)
    raw = VOCSegDataset(True, (20, 30), synthetic, seed=2, as_uint8=True, verbose=False)
    image, label = raw[0]
    assert image.dtype == label.dtype == torch.uint8 and image.is_contiguous()
    expected = torch.utils.data.default_collate([floats[i] for i in range(4)])
    got = collate_normalize([raw[i] for i in range(4)])
    assert got[0].dtype == torch.float32 and got[1].dtype == torch.int64
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def test_load_data_voc_cache_changes_nothing_but_speed(synthetic: Path) -> None:
    def epoch(cache: bool) -> list:
        train, val = load_data_voc(2, (20, 30), synthetic, seed=1, cache=cache, verbose=False)
        set_loader_epoch(train, 1)
        return list(train) + list(val)

    assert _same(epoch(True), epoch(False))


def test_crop_keeps_image_and_label_aligned(tmp_path: Path) -> None:
    image, label = _coordinate_example(40, 50)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image] * 3, [label] * 3)
    for kwargs in ({}, {"seed": 0}):  # torch's global generator, or crops from the seed
        dataset = VOCSegDataset(True, (17, 23), voc_dir, verbose=False, **kwargs)
        origins = set()
        for epoch in range(4):
            dataset.set_epoch(epoch)
            for idx in range(len(dataset)):
                crop, crop_label = dataset[idx]
                top, left = _origin(crop)
                origins.add((top, left))
                red = torch.where(crop_label == 255, 252, 12 * crop_label)
                torch.testing.assert_close(_unnormalize(crop)[0], red)  # label from the same place
                expected = torch.from_numpy(label[top : top + 17, left : left + 23]).long()
                torch.testing.assert_close(crop_label, expected)
        assert len(origins) > 6  # the crops really move


def test_rgb_label_path_gives_the_same_items(synthetic: Path) -> None:
    def dataset(use_palette: bool) -> VOCSegDataset:
        return VOCSegDataset(
            True, (20, 30), synthetic, seed=1, use_palette=use_palette, verbose=False
        )

    fast, slow = dataset(True), dataset(False)
    for idx in range(len(fast)):
        for a, b in zip(fast[idx], slow[idx], strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    ("crop_size", "error", "message"),
    [
        ((0, 48), ValueError, r"crop_size must have entries >= 1, got \(0, 48\)"),
        ((32,), ValueError, r"crop_size must be an int or a pair \(h, w\) of ints, got \(32,\)"),
        ((32.0, 48), ValueError, r"got \(32.0, 48\); pass e.g. crop_size=\(320, 480\)"),
        ((32, 48, 3), ValueError, r"got \(32, 48, 3\)"),
        ((True, 48), ValueError, r"got \(True, 48\)"),
        ("32", TypeError, r"crop_size must be an int or a pair \(h, w\) of ints, got '32'"),
    ],
)
def test_dataset_rejects_bad_crop_size(synthetic: Path, crop_size, error, message) -> None:
    with pytest.raises(error, match=message):
        VOCSegDataset(True, crop_size, synthetic)


def test_dataset_rejects_mismatched_label(tmp_path: Path) -> None:
    image, _ = _coordinate_example(20, 20)
    _, label = _coordinate_example(20, 24)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image], [label])
    message = r"label .* must have the \(H, W\) of its image .*, \(20, 20\), got \(20, 24\); "
    with pytest.raises(ValueError, match=message):
        VOCSegDataset(True, (10, 10), voc_dir, verbose=False)  # the cache decodes it now
    dataset = VOCSegDataset(True, (10, 10), voc_dir, cache=False, verbose=False)
    with pytest.raises(ValueError, match=message):
        dataset[0]


def test_a_damaged_image_fails_at_construction_in_one_line(tmp_path: Path) -> None:
    # bug 6: a truncated JPEG stopped a run with a long traceback from deep inside Pillow
    image, label = _coordinate_example(20, 20)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image, image], [label, label])
    path = image_file(voc_dir, "2007_000001")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(
        ImageReadError,
        match=r"image .*2007_000001\.jpg must be a file Pillow can decode, got a truncated file",
    ) as info:
        VOCSegDataset(True, (10, 10), voc_dir, verbose=False)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("cache", [True, False])
def test_all_ignored_labels_are_refused_before_training(tmp_path: Path, cache: bool) -> None:
    # bug 9: validation labels that are 255 everywhere were found only after the first epoch
    image, _ = _coordinate_example(20, 20)
    ignored = np.full((20, 20), IGNORE_INDEX, dtype=np.uint8)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image] * 2, [ignored] * 2)
    with pytest.raises(
        ValueError,
        match=r"the val split of .*VOC2012 must have at least one "
        r"pixel that is not 255 \(ignore\), got 2 labels",
    ):
        VOCSegDataset(False, (10, 10), voc_dir, cache=cache, verbose=False)
    with pytest.raises(ValueError, match=r"the (train|val) split of .* must have"):
        load_data_voc(1, (10, 10), voc_dir, verbose=False)


def test_a_split_with_nothing_kept_is_not_refused_here(synthetic: Path) -> None:
    dataset = VOCSegDataset(False, (100, 100), synthetic, verbose=False)
    assert len(dataset) == 0 and dataset.num_dropped == 3  # the caller says "smaller crop"


# --- the determinism contract -------------------------------------------------------------------


def _items(dataset: VOCSegDataset) -> list[tuple[int, int]]:
    return [_origin(dataset[i][0]) for i in range(len(dataset))]


def test_seeded_crops_are_a_function_of_seed_epoch_and_index(coordinates: Path) -> None:
    a = VOCSegDataset(True, (10, 10), coordinates, seed=7, verbose=False)
    b = VOCSegDataset(True, (10, 10), coordinates, seed=7, verbose=False)
    first = _items(a)
    assert first == _items(a) and first == _items(b)  # reading twice draws the same crops
    assert len(set(first)) > 3  # examples of one image get different crops
    a.set_epoch(1)
    second = _items(a)
    assert second != first
    b.set_epoch(1)
    assert _items(b) == second  # rebuilt and set to the same epoch: the same crops
    assert b[3] is not None and _items(b)[::-1] == [_origin(b[i][0]) for i in range(5, -1, -1)]
    assert _items(VOCSegDataset(True, (10, 10), coordinates, seed=8, verbose=False)) != first


def test_validation_crops_are_fixed_across_epochs(coordinates: Path) -> None:
    val = VOCSegDataset(False, (10, 10), coordinates, seed=7, verbose=False)
    first = _items(val)
    val.set_epoch(5)
    assert _items(val) == first and len(set(first)) > 3
    default = VOCSegDataset(False, (10, 10), coordinates, verbose=False)  # seed 0 by default
    assert _items(default) == _items(
        VOCSegDataset(False, (10, 10), coordinates, seed=0, verbose=False)
    )


def test_set_epoch_checks_its_argument(coordinates: Path) -> None:
    dataset = VOCSegDataset(True, 10, coordinates, seed=0, verbose=False)
    with pytest.raises(ValueError, match=r"epoch must be an int >= 0, got -1"):
        dataset.set_epoch(-1)
    with pytest.raises(TypeError, match=r"epoch must be an int, got 1.0"):
        dataset.set_epoch(1.0)


def _epoch_batches(loader, epoch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    set_loader_epoch(loader, epoch)
    return list(loader)


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        torch.equal(x, y) for p, q in zip(a, b, strict=True) for x, y in zip(p, q, strict=True)
    )


def test_loader_batches_equal_across_workers_rebuilds_and_resumes(coordinates: Path) -> None:
    straight, _ = load_data_voc(2, (10, 10), coordinates, seed=3, verbose=False)
    epochs = [_epoch_batches(straight, e) for e in range(3)]
    assert not _same(epochs[0], epochs[1])
    resumed, _ = load_data_voc(2, (10, 10), coordinates, seed=3, verbose=False)
    assert _same(_epoch_batches(resumed, 2), epochs[2])  # resumed at epoch 2
    workers, _ = load_data_voc(2, (10, 10), coordinates, 2, seed=3, verbose=False)
    assert _same(_epoch_batches(workers, 1), epochs[1])  # 2 workers: the same batches


def test_persistent_workers_see_set_epoch(coordinates: Path) -> None:
    train, _ = load_data_voc(3, (10, 10), coordinates, seed=5, verbose=False)
    expected = [_epoch_batches(train, e) for e in range(2)]
    persistent = torch.utils.data.DataLoader(
        train.dataset, 3, sampler=train.sampler, drop_last=True, num_workers=1,
        collate_fn=train.collate_fn,
        persistent_workers=True,
    )  # fmt: skip
    assert [_same(_epoch_batches(persistent, e), expected[e]) for e in (0, 1)] == [True, True]


def test_validation_loader_is_identical_across_epochs(coordinates: Path) -> None:
    _, val = load_data_voc(4, (10, 10), coordinates, seed=2, verbose=False)
    first = _epoch_batches(val, 0)
    assert [len(x) for x, _ in first] == [4, 2]  # every validation example kept
    assert _same(_epoch_batches(val, 7), first)


def test_set_loader_epoch_reaches_a_subset(coordinates: Path) -> None:
    dataset = VOCSegDataset(True, 10, coordinates, seed=0, verbose=False)
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, [0, 1]), 1)
    set_loader_epoch(loader, 4)
    assert dataset.epoch == 4


# --- load_data_voc ------------------------------------------------------------------------------


def test_load_data_voc_batches(synthetic: Path) -> None:
    train_iter, test_iter = load_data_voc(2, (20, 30), synthetic)
    train_batches, test_batches = list(train_iter), list(test_iter)
    assert len(train_batches) == 2  # 5 examples, drop_last
    assert [len(x) for x, _ in test_batches] == [2, 1]
    images, labels = train_batches[0]
    assert images.shape == (2, 3, 20, 30) and images.dtype == torch.float32
    assert labels.shape == (2, 20, 30) and labels.dtype == torch.int64


def test_load_data_voc_is_seeded(synthetic: Path) -> None:
    def first_batch(seed: int) -> torch.Tensor:
        return next(iter(load_data_voc(2, (20, 30), synthetic, seed=seed, verbose=False)[0]))[0]

    torch.testing.assert_close(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, r"batch_size must be an int >= 1, got 0"),
        ({"batch_size": 2.0}, TypeError, r"batch_size must be an int, got 2.0"),
        ({"num_workers": -1}, ValueError, r"num_workers must be an int >= 0, got -1"),
    ],
)
def test_load_data_voc_rejects_bad_arguments(synthetic: Path, kwargs, error, message) -> None:
    args = {"batch_size": 2, "crop_size": (20, 30), "voc_dir": synthetic} | kwargs
    with pytest.raises(error, match=message):
        load_data_voc(**args)


def test_load_data_voc_is_make_loaders_on_one_process(synthetic: Path) -> None:
    from transconv.recipes import RECIPES

    d2l = load_data_voc(2, (20, 30), synthetic, seed=4, verbose=False)
    run = make_loaders(
        synthetic, RECIPES["d2l"], batch_size=2, crop_size=(20, 30), device="cpu", seed=4
    )
    for epoch in (0, 1):
        for a, b in zip(d2l, run, strict=True):
            assert _same(_epoch_batches(a, epoch), _epoch_batches(b, epoch)), epoch


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_loader_workers_leave_ctrl_c_to_the_main_process(synthetic: Path) -> None:
    train, _ = load_data_voc(2, (20, 30), synthetic, 1, verbose=False)
    next(iter(train))  # workers started, SIGINT blocked meanwhile and unblocked after
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    before = signal.getsignal(signal.SIGINT)
    try:
        train.worker_init_fn(0)  # what each worker runs first
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert load_data_voc(2, (20, 30), synthetic, verbose=False)[0].worker_init_fn is None


def test_old_paths_of_the_loaders_warn_and_work() -> None:
    import transconv.data.dataset as dataset
    import transconv.train as train

    for module, name in ((dataset, "load_data_voc"), (dataset, "set_loader_epoch")):
        with pytest.warns(FutureWarning, match=rf"{name} moved: import it from .*\.loaders"):
            assert getattr(module, name) is globals()[name]
    with pytest.warns(FutureWarning, match=r"make_loaders moved: import it from .*\.loaders"):
        assert train.make_loaders is make_loaders


# --- benchmarks/loader_throughput.py ------------------------------------------------------------


@pytest.mark.slow
def test_loader_benchmark_smoke(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "loader_throughput.py"
    spec = importlib.util.spec_from_file_location("loader_throughput", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "loader.json"
    args = ["--images", "4", "--size", "40", "48", "--crop", "32", "32", "--batch-size", "2"]
    saved = bench.main([*args, "--epochs", "1", "--same-process", "--out", str(out)])
    results = saved["results"]
    assert set(results) == {"decode", "uint8_item", "uint8", "d2l"}
    assert all(r["img_per_s_per_core"] > 0 and r["images"] == 4 for r in results.values())
    assert results["decode"]["held_bytes"] == 0
    assert results["uint8"]["held_bytes"] == 4 * 40 * 48 * 4  # 3 bytes a pixel + 1 of label
    assert results["d2l"]["held_bytes"] == 4 * 40 * 48 * (12 + 3) + 8 * 256**3
    printed = capsys.readouterr().out
    assert "uint8 / d2l speed:" in printed and "uint8 / decode speed:" in printed
    assert json.loads(out.read_text())["results"]["uint8"]["examples"] == 4
