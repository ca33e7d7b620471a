"""Tests for transconv.data.gpu.DeviceSegLoader (on CPU; the CUDA test runs where a GPU is)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms.functional import normalize

from transconv.data.gpu import DeviceSegLoader

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet, as torchvision documents
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


def random_pairs(sizes, seed=0):
    """Random uint8 images and int64 labels (with some 255s) of the given (H, W) sizes."""
    gen = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8) for h, w in sizes]
    labels = [torch.randint(0, 21, (h, w), generator=gen) for h, w in sizes]
    for lab in labels:
        lab[0] = 255
    return images, labels


def encoded_pairs(sizes):
    """Images whose pixels spell (row, col, image id) and labels that are a function of them."""
    images, labels = [], []
    for k, (h, w) in enumerate(sizes):
        rows = torch.arange(h)[:, None].expand(h, w)
        cols = torch.arange(w)[None, :].expand(h, w)
        images.append(torch.stack([rows, cols, torch.full((h, w), k)]).to(torch.uint8))
        labels.append((rows + 2 * cols + 3 * k) % 256)
    return images, labels


def decode(X):
    """Undo the ImageNet normalisation: float batch -> the uint8 pixels it came from."""
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return ((X.double().cpu() * std + mean) * 255).round().long()


def reference_batch(images, labels, index, top, left, h, w):
    """Crop with plain slicing and normalise with torchvision, one sample at a time (float64)."""
    xs, ys = [], []
    for i, t, c in zip(index.tolist(), top.tolist(), left.tolist(), strict=True):
        crop = images[i][:, t : t + h, c : c + w].double() / 255
        xs.append(normalize(crop, MEAN, STD))
        ys.append(labels[i][t : t + h, c : c + w].long())
    return torch.stack(xs), torch.stack(ys)


@settings(max_examples=25)
@given(
    sizes=st.lists(st.tuples(st.integers(4, 12), st.integers(5, 12)), min_size=1, max_size=5),
    crop=st.tuples(st.integers(1, 4), st.integers(1, 5)),
    batch=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    channels_last=st.booleans(),
)
def test_gather_matches_reference_crop(sizes, crop, batch, seed, channels_last):
    images, labels = random_pairs(sizes, seed)
    loader = DeviceSegLoader(
        images, labels, batch_size=1, crop_size=crop, device="cpu", channels_last=channels_last
    )
    gen = torch.Generator().manual_seed(seed)
    index = torch.randint(0, len(sizes), (batch,), generator=gen)
    top, left = loader.crop_offsets(index, gen)
    X, Y = loader.gather(index, top, left)
    X_ref, Y_ref = reference_batch(images, labels, index, top, left, *crop)
    torch.testing.assert_close(X, X_ref.float())
    assert Y.dtype == torch.int64 and torch.equal(Y, Y_ref)
    span = torch.tensor(sizes)[index] - torch.tensor(crop) + 1
    assert (top >= 0).all() and (left >= 0).all()
    assert (top < span[:, 0]).all() and (left < span[:, 1]).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_epoch_crops_are_aligned_windows_of_each_image_once(device, channels_last):
    sizes = [(9, 11), (10, 10), (12, 9), (9, 14), (11, 12), (13, 13)]
    images, labels = encoded_pairs(sizes)
    loader = DeviceSegLoader(
        images,
        labels,
        batch_size=2,
        crop_size=(5, 7),
        device=device,
        seed=3,
        channels_last=channels_last,
    )
    seen = []
    for X, Y in loader:
        assert X.device.type == Y.device.type == device
        assert X.is_contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format
        )
        pixels, Y = decode(X), Y.cpu()
        rows, cols, ids = pixels[:, 0], pixels[:, 1], pixels[:, 2]
        assert torch.equal(Y, (rows + 2 * cols + 3 * ids) % 256)  # label follows its pixel
        assert torch.equal(rows - rows[:, :1, :1], torch.arange(5).view(1, 5, 1).expand_as(rows))
        assert torch.equal(cols - cols[:, :1, :1], torch.arange(7).view(1, 1, 7).expand_as(cols))
        for k in range(X.shape[0]):
            image_id = int(ids[k, 0, 0])
            h, w = sizes[image_id]
            assert int(rows[k].max()) < h and int(cols[k].max()) < w
            seen.append(image_id)
    assert sorted(seen) == list(range(len(sizes)))


def test_crop_offsets_cover_every_position():
    images, labels = encoded_pairs([(6, 5)])
    loader = DeviceSegLoader(images, labels, batch_size=1, crop_size=(4, 4), device="cpu")
    top, left = loader.crop_offsets(torch.zeros(400, dtype=torch.long), torch.Generator())
    assert set(top.tolist()) == {0, 1, 2} and set(left.tolist()) == {0, 1}


def test_normalisation_equals_normalize_image():
    from transconv.data.voc import normalize_image

    images, labels = random_pairs([(6, 7)] * 3, seed=1)
    loader = DeviceSegLoader(
        images, labels, batch_size=3, crop_size=(6, 7), device="cpu", shuffle=False
    )
    X, _ = next(iter(loader))
    torch.testing.assert_close(X, normalize_image(torch.stack(images)).float())


def test_channels_last_layout_same_values():
    images, labels = random_pairs([(8, 9)] * 4, seed=2)
    kwargs = dict(batch_size=2, crop_size=(5, 6), device="cpu", seed=7)
    plain = list(DeviceSegLoader(images, labels, **kwargs))
    last = list(DeviceSegLoader(images, labels, channels_last=True, **kwargs))
    for (X0, Y0), (X1, Y1) in zip(plain, last, strict=True):
        assert X1.is_contiguous(memory_format=torch.channels_last)
        assert X0.is_contiguous()
        assert torch.equal(X0, X1) and torch.equal(Y0, Y1)


def batches(loader):
    return [(X.clone(), Y.clone()) for X, Y in loader]


def same(a, b):
    return all(
        torch.equal(x, y) for pa, pb in zip(a, b, strict=True) for x, y in zip(pa, pb, strict=True)
    )


@pytest.mark.parametrize("device", DEVICES)
def test_determinism_by_seed_and_epoch(device):
    images, labels = random_pairs([(10, 12)] * 8, seed=4)
    kwargs = dict(batch_size=2, crop_size=(4, 5), device=device)
    a, b, c = (DeviceSegLoader(images, labels, seed=seed, **kwargs) for seed in (0, 0, 1))
    first_a, first_b, first_c = batches(a), batches(b), batches(c)
    assert same(first_a, first_b)
    assert not same(first_a, first_c)
    second_a = batches(a)  # the epoch advances by itself ...
    assert not same(first_a, second_a)
    a.set_epoch(0)  # ... and set_epoch repeats one
    assert same(batches(a), first_a)


@pytest.mark.parametrize("device", DEVICES)
def test_rebuilt_loader_set_to_an_epoch_repeats_it(device):
    # the resume contract: a fresh loader set to epoch e gives what a straight run gave there
    images, labels = random_pairs([(10, 12)] * 8, seed=4)
    kwargs = dict(batch_size=2, crop_size=(4, 5), device=device, seed=3)
    straight = DeviceSegLoader(images, labels, **kwargs)
    epochs = [batches(straight) for _ in range(3)]
    resumed = DeviceSegLoader(images, labels, **kwargs)
    resumed.set_epoch(2)
    assert same(batches(resumed), epochs[2])


@pytest.mark.parametrize("device", DEVICES)
def test_fixed_crops_are_identical_across_epochs(device):
    # bug 1 (data side): validation crops changed every epoch, so did the validation score
    images, labels = encoded_pairs([(9, 11), (10, 10), (12, 9), (9, 14), (11, 12)])
    kwargs = dict(
        batch_size=2, crop_size=(5, 7), device=device, seed=1, shuffle=False, drop_last=False
    )
    val = DeviceSegLoader(images, labels, fixed_crops=True, **kwargs)
    first = batches(val)
    assert len(first) == 3 and same(batches(val), first) and same(batches(val), first)
    moving = DeviceSegLoader(images, labels, **kwargs)
    assert not same(batches(moving), batches(moving))  # without fixed_crops they move


def test_fixed_crop_of_an_image_does_not_depend_on_rank_or_batch():
    images, labels = encoded_pairs([(12, 14)] * 6)
    kwargs = dict(crop_size=(5, 7), device="cpu", seed=2, shuffle=False, fixed_crops=True)

    def corners(**more):
        out = {}
        for X, _ in DeviceSegLoader(images, labels, **kwargs, **more):
            pixels = decode(X)
            for k in range(X.shape[0]):
                out[int(pixels[k, 2, 0, 0])] = (int(pixels[k, 0, 0, 0]), int(pixels[k, 1, 0, 0]))
        return out

    whole = corners(batch_size=6)
    assert len(set(whole.values())) > 2  # images get different crops
    assert corners(batch_size=1) == whole
    assert corners(batch_size=1, rank=1, world_size=2) == {i: whole[i] for i in (1, 3, 5)}


def test_from_voc_fixes_validation_crops(tmp_path):
    from transconv.data.synthetic import make_synthetic_voc

    voc = make_synthetic_voc(tmp_path, num_train=2, num_val=3, size=(30, 40), seed=0)
    kw = dict(crop_size=(16, 16), batch_size=1, device="cpu", shuffle=False, drop_last=False)
    val = DeviceSegLoader.from_voc(voc, False, **kw)
    train = DeviceSegLoader.from_voc(voc, True, **kw)
    assert val.fixed_crops and not train.fixed_crops
    assert same(batches(val), batches(val))
    assert not DeviceSegLoader.from_voc(voc, False, fixed_crops=False, **kw).fixed_crops


def test_from_voc_refuses_all_ignored_labels(tmp_path):
    from transconv.data.labels import write_voc_label
    from transconv.data.layout import label_file, list_names
    from transconv.data.synthetic import make_synthetic_voc

    voc = make_synthetic_voc(tmp_path, num_train=2, num_val=2, size=(16, 16), seed=0)
    for name in list_names(voc, "val"):
        write_voc_label(label_file(voc, name), torch.full((16, 16), 255))
    with pytest.raises(
        ValueError,
        match=r"the val split of .*VOC2012 must have at least one "
        r"pixel that is not 255",
    ):
        DeviceSegLoader.from_voc(voc, False, crop_size=8, batch_size=1, device="cpu")


def test_no_shuffle_keeps_order():
    images, labels = encoded_pairs([(6, 6)] * 5)
    loader = DeviceSegLoader(images, labels, batch_size=5, crop_size=3, device="cpu", shuffle=False)
    X, _ = next(iter(loader))
    assert decode(X)[:, 2, 0, 0].tolist() == [0, 1, 2, 3, 4]


def test_filtering_drops_small_images_and_reports():
    sizes = [(10, 10), (4, 10), (10, 4), (8, 6), (9, 9)]
    images, labels = encoded_pairs(sizes)
    loader = DeviceSegLoader(images, labels, batch_size=1, crop_size=(8, 6), device="cpu")
    assert (loader.num_kept, loader.num_dropped) == (3, 2)
    assert "kept=3, dropped=2 smaller than 8x6" in repr(loader)
    ids = sorted(int(decode(X)[0, 2, 0, 0]) for X, _ in loader)
    assert ids == [0, 3, 4]


@pytest.mark.parametrize("drop_last", [True, False])
def test_sharding_is_disjoint_equal_and_covers(drop_last):
    n, world = 11, 3
    images, labels = encoded_pairs([(5, 5)] * n)
    shards = [
        DeviceSegLoader(
            images,
            labels,
            batch_size=2,
            crop_size=3,
            device="cpu",
            seed=5,
            rank=r,
            world_size=world,
            drop_last=drop_last,
        ).shard_indices(epoch=2)
        for r in range(world)
    ]
    lengths = {len(s) for s in shards}
    assert lengths == ({n // world} if drop_last else {-(-n // world)})
    flat = torch.cat(shards).tolist()
    if drop_last:
        assert len(set(flat)) == len(flat) == world * (n // world)
    else:
        assert set(flat) == set(range(n))
        assert len(set(flat)) == n and len(flat) == world * -(-n // world)


def test_sharded_iteration_visits_disjoint_images():
    images, labels = encoded_pairs([(5, 5)] * 8)
    ids = []
    for rank in range(2):
        loader = DeviceSegLoader(
            images, labels, batch_size=2, crop_size=3, device="cpu", rank=rank, world_size=2
        )
        assert len(loader) == 2
        ids.append({int(i) for X, _ in loader for i in decode(X)[:, 2, 0, 0]})
    assert not ids[0] & ids[1] and ids[0] | ids[1] == set(range(8))


@pytest.mark.parametrize(
    ("n", "batch", "world", "drop_last", "expected"),
    [
        (10, 3, 1, True, 3),
        (10, 3, 1, False, 4),
        (9, 3, 1, True, 3),
        (10, 2, 3, True, 1),
        (10, 2, 3, False, 2),
        (7, 7, 1, True, 1),
    ],
)
def test_len_counts_batches_actually_yielded(n, batch, world, drop_last, expected):
    images, labels = random_pairs([(4, 4)] * n)
    loader = DeviceSegLoader(
        images,
        labels,
        batch_size=batch,
        crop_size=2,
        device="cpu",
        world_size=world,
        drop_last=drop_last,
    )
    got = [X.shape[0] for X, _ in loader]
    assert len(loader) == len(got) == expected
    shard = len(loader.shard_indices(0))
    assert sum(got) == (expected * batch if drop_last else shard)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (
            dict(labels="short"),
            ValueError,
            r"labels must have one entry per image, got 2 images "
            r"and 1 labels",
        ),
        (
            dict(images="float"),
            TypeError,
            r"^images\[0\] must be a uint8 RGB image tensor, got dtype torch.float32",
        ),
        (
            dict(images="gray"),
            ValueError,
            r"images\[0\] must have shape \(3, H, W\), got "
            r"\(1, 6, 6\)",
        ),
        (
            dict(labels="shape"),
            ValueError,
            r"labels\[1\] must have its image's shape \(6, 6\), "
            r"got \(6, 5\)",
        ),
        (
            dict(labels="range"),
            ValueError,
            r"^labels\[0\] must hold class indices in \[0, 255\], got values from 0 to 256; "
            r"read labels with transconv.data.read_voc_label$",
        ),
        (
            dict(labels="float"),
            TypeError,
            r"^labels\[0\] must hold integer class indices, got dtype torch.float32; ",
        ),
        (
            dict(labels="ignored"),
            ValueError,
            r"the labels of the 2 kept images must have at "
            r"least one pixel that is not 255",
        ),
        (dict(crop_size=(0, 3)), ValueError, r"crop_size must have entries >= 1, got \(0, 3\)"),
        (dict(crop_size=(2, 3, 4)), ValueError, r"crop_size must be .* got \(2, 3, 4\)"),
        (dict(crop_size="3"), TypeError, r"crop_size must be an int or a pair"),
        (dict(batch_size=0), ValueError, r"batch_size must be an int >= 1, got 0"),
        (dict(batch_size=1.0), TypeError, r"batch_size must be an int, got 1.0"),
        (dict(seed=0.5), TypeError, r"seed must be an int, got 0.5"),
        (
            dict(rank=2, world_size=2),
            ValueError,
            r"rank must satisfy 0 <= rank < world_size "
            r"\(2\), got 2; under torchrun",
        ),
        (dict(rank=-1), ValueError, r"rank must be an int >= 0, got -1"),
        (dict(world_size=0), ValueError, r"world_size must be an int >= 1, got 0"),
        (
            dict(crop_size=(7, 3)),
            ValueError,
            r"no full batch of 1: 0 of 2 images are at least "
            r"7x3 \(largest image: \(6, 6\)\).* use a smaller "
            r"crop_size",
        ),
        (dict(batch_size=3), ValueError, r"no full batch of 3: 2 of 2 images"),
    ],
)
def test_errors_name_values_and_fix(change, error, match):
    images, labels = random_pairs([(6, 6)] * 2)
    kind = change.pop("images", None)
    if kind == "float":
        images[0] = images[0].float()
    elif kind == "gray":
        images[0] = images[0][:1]
    kind = change.pop("labels", None)
    if kind == "short":
        labels = labels[:1]
    elif kind == "shape":
        labels[1] = labels[1][:, :5]
    elif kind == "range":
        labels[0][0, 0] = 256
    elif kind == "float":
        labels[0] = labels[0].float()
    elif kind == "ignored":
        labels = [torch.full_like(lab, 255) for lab in labels]
    kwargs = dict(batch_size=1, crop_size=(3, 3), device="cpu") | change
    with pytest.raises(error, match=match):
        DeviceSegLoader(images, labels, **kwargs)


# d2l reads with torchvision.io, deprecated since torchvision 0.29: the comparison still holds
@pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")
def test_from_voc_reads_split_with_palette_labels(tmp_path):
    from transconv.data.layout import list_names
    from transconv.data.synthetic import make_synthetic_voc
    from transconv.data.voc import read_voc_label, voc_colormap2label, voc_label_indices

    voc = Path(make_synthetic_voc(tmp_path, num_train=3, num_val=2, size=(40, 56), seed=0))
    loader = DeviceSegLoader.from_voc(
        voc, False, crop_size=(40, 56), batch_size=2, device="cpu", shuffle=False
    )
    assert loader.num_kept == 2 and len(loader) == 1
    names = list_names(voc, "val")
    from torchvision.io import ImageReadMode, read_image

    X, Y = next(iter(loader))
    for k, name in enumerate(names):
        rgb = read_image(str(voc / "SegmentationClass" / f"{name}.png"), ImageReadMode.RGB)
        assert torch.equal(Y[k], voc_label_indices(rgb, voc_colormap2label()))
        assert torch.equal(Y[k], read_voc_label(voc / "SegmentationClass" / f"{name}.png"))
        jpg = read_image(str(voc / "JPEGImages" / f"{name}.jpg"), ImageReadMode.RGB)
        torch.testing.assert_close(X[k], normalize(jpg.double() / 255, MEAN, STD).float())


def test_from_voc_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"JPEGImages not found.*download_voc"):
        DeviceSegLoader.from_voc(tmp_path, True, crop_size=2, batch_size=1, device="cpu")
    from transconv.data.layout import image_file, label_file, split_file

    for part in (image_file(tmp_path, "x"), label_file(tmp_path, "x"), split_file(tmp_path, "val")):
        part.parent.mkdir(parents=True, exist_ok=True)
    split_file(tmp_path, "val").write_text("2007_000001\n")
    with pytest.raises(FileNotFoundError, match=r"2007_000001.jpg not found, but val.txt lists"):
        DeviceSegLoader.from_voc(tmp_path, False, crop_size=2, batch_size=1, device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_for_the_same_offsets():
    images, labels = random_pairs([(20, 24), (22, 30), (25, 25)], seed=9)
    kw = dict(batch_size=3, crop_size=(16, 20), channels_last=True)
    gpu = DeviceSegLoader(images, labels, device="cuda", **kw)
    cpu = DeviceSegLoader(images, labels, device="cpu", **kw)
    X, Y = next(iter(gpu))
    assert X.device.type == "cuda" and X.is_contiguous(memory_format=torch.channels_last)
    index = torch.tensor([2, 0, 1])
    top, left = torch.tensor([3, 1, 4]), torch.tensor([2, 7, 0])
    Xg, Yg = gpu.gather(index.cuda(), top.cuda(), left.cuda())
    Xc, Yc = cpu.gather(index, top, left)
    torch.testing.assert_close(Xg.cpu(), Xc)
    assert torch.equal(Yg.cpu(), Yc)


@CUDA
def test_cuda_batches_read_nothing_back_to_the_host():
    images, labels = random_pairs([(20, 24), (24, 30)] * 4, seed=3)
    loader = DeviceSegLoader(
        images, labels, batch_size=2, crop_size=(16, 20), device="cuda", channels_last=True
    )
    batches_left = iter(loader)
    next(batches_left)  # the epoch's permutation goes to the GPU here, once: a host sync
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host sync now raises
    try:
        rest = [next(batches_left) for _ in range(len(loader) - 1)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert len(rest) == 3 and all(X.is_cuda and Y.is_cuda for X, Y in rest)


def test_no_images_says_so_not_smaller_crop():
    # issue 16: an empty split ended in "use a smaller crop_size or batch_size"
    with pytest.raises(ValueError, match=r"^images must hold at least one image, got none"):
        DeviceSegLoader([], [], batch_size=1, crop_size=(3, 3), device="cpu")
