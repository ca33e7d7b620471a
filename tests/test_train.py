"""Tests for transconv.train: losses, bf16 numerics, NaN stop, checkpoints, resume, tiling, DDP."""

import copy
import importlib
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transconv.data.voc import normalize_image
from transconv.train import (
    RECIPES,
    NonFiniteLossError,
    Recipe,
    cudnn_autotune,
    d2l_loss,
    evaluate,
    load_checkpoint,
    loss_fn,
    make_loaders,
    make_optimizer,
    predict,
    save_checkpoint,
    setup_distributed,
    train,
    train_step,
    wrap_ddp,
)


# the module itself: ``import transconv.train as T`` would give the function transconv.train
# once the package re-exports it
T = importlib.import_module("transconv.train")

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def tiny_fcn(num_classes=4, seed=0):
    """A small FCN (conv stride 2, 1x1 score, transposed conv x2) with seeded weights."""
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, num_classes, 1),
        nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1),
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen(seed)) * 0.3)
    return net


def batches(n=3, b=2, size=(8, 12), num_classes=4, seed=0):
    g = gen(seed)
    out = []
    for _ in range(n):
        Y = torch.randint(0, num_classes, (b, *size), generator=g)
        Y[:, 0, :] = 255
        out.append((torch.randn(b, 3, *size, generator=g), Y))
    return out


# ---------------------------------------------------------------- losses


def test_loss_fn_is_the_mean_over_labelled_pixels_only():
    logits = torch.randn(2, 5, 3, 4, generator=gen(), dtype=torch.float64)
    target = torch.randint(0, 5, (2, 3, 4), generator=gen(1))
    target[0, 0, :3] = 255
    target[1, 2, 1] = 255
    keep = target != 255
    expected = F.cross_entropy(logits.permute(0, 2, 3, 1)[keep], target[keep])
    torch.testing.assert_close(loss_fn(logits, target).double(), expected)
    poked = logits.clone()
    poked[0, :, 0, :3] = 100.0  # logits at ignored pixels must not matter
    torch.testing.assert_close(loss_fn(poked, target), loss_fn(logits, target))


def test_loss_fn_all_ignored_is_zero_not_nan():
    assert loss_fn(torch.randn(1, 3, 2, 2), torch.full((1, 2, 2), 255)).item() == 0.0


def test_d2l_loss_per_image_mean_with_ignored_pixels_as_zero():
    logits = torch.randn(2, 3, 2, 3, generator=gen(), dtype=torch.float64)
    target = torch.tensor([[[0, 1, 2], [255, 0, 1]], [[2, 2, 2], [1, 255, 255]]])
    logp = logits.log_softmax(1)
    expected = []
    for b in range(2):
        terms = [-logp[b, target[b, i, j], i, j] if target[b, i, j] != 255 else 0.0
                 for i in range(2) for j in range(3)]
        expected.append(sum(terms) / 6)  # d2l divides by all H*W pixels
    torch.testing.assert_close(d2l_loss(logits, target).double(), torch.stack(expected))


def test_loss_shape_error():
    expected = r"logits BxCxHxW and target BxHxW.*\(1, 3, 2, 2\).*\(1, 2, 3\)"
    with pytest.raises(ValueError, match=expected):
        loss_fn(torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 3, dtype=torch.long))


# ---------------------------------------------------------------- numerics


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_autocast_loss_matches_fp32_within_2_percent(device):
    from transconv.models import build_model

    torch.manual_seed(0)  # the builder initialises through torch's global generator
    net = build_model("fcn_resnet18", num_classes=5).to(device)
    X = torch.randn(2, 3, 64, 96, generator=gen()).to(device)
    Y = torch.randint(0, 5, (2, 64, 96), generator=gen(1)).to(device)
    Y[:, :4] = 255
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(2):  # move off the near-uniform initial logits first
        train_step(net, X, Y, opt)
    net.eval()
    if device == "cuda":  # the fast recipe's layout; the float32 reference may use TF32
        net, X = net.to(memory_format=torch.channels_last), X.contiguous(
            memory_format=torch.channels_last)
    with torch.no_grad():
        logits32 = net(X)
        with torch.autocast(device, dtype=torch.bfloat16):
            logits16 = net(X)
    # stated tolerances: bf16 keeps 8 significant bits; we allow 2% relative on the loss and
    # 5% of the largest logit on every logit (measured: 0.02% and 1.5%)
    assert logits16.dtype == torch.bfloat16
    assert loss_fn(logits16, Y).item() == pytest.approx(loss_fn(logits32, Y).item(), rel=2e-2)
    scale = logits32.abs().max().item()
    torch.testing.assert_close(logits16.float(), logits32, rtol=0, atol=0.05 * scale)


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_train_step_tracks_fp32(device):
    net = tiny_fcn().to(device)
    X, Y = (t.to(device) for t in batches(1, size=(16, 24))[0])
    losses = {}
    for amp in (None, torch.bfloat16):
        twin = copy.deepcopy(net)
        opt = torch.optim.SGD(twin.parameters(), lr=0.1)
        losses[amp] = [train_step(twin, X, Y, opt, amp_dtype=amp).item() for _ in range(3)]
    assert losses[torch.bfloat16] == pytest.approx(losses[None], rel=2e-2)
    assert losses[None][2] < losses[None][0]


def test_float16_autocast_is_refused():
    net = tiny_fcn()
    X, Y = batches(1)[0]
    with pytest.raises(ValueError, match=r"amp_dtype must be None or torch.bfloat16.*GradScaler"):
        train_step(net, X, Y, torch.optim.SGD(net.parameters(), lr=0.1), amp_dtype=torch.float16)


# ---------------------------------------------------------------- train / evaluate


def test_train_history_and_learning():
    net = tiny_fcn()
    data = batches(4)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    hist = train(net, data, data[:2], epochs=3, optimizer=opt, device="cpu", num_classes=4,
                 progress=False)
    assert [row["epoch"] for row in hist] == [1, 2, 3]
    for key in ("train_loss", "train_acc", "pixel_acc", "mean_acc", "mean_iou", "fw_iou",
                "iou", "lr", "train_seconds", "seconds", "img_per_s"):
        assert key in hist[0]
    assert hist[0]["img_per_s"] > 0 and len(hist[0]["iou"]) == 4
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_train_with_d2l_recipe_uses_summed_per_image_loss(monkeypatch):
    calls = []
    monkeypatch.setitem(T.LOSSES, "d2l", lambda z, y: calls.append(1) or d2l_loss(z, y))
    net = tiny_fcn()
    opt = make_optimizer(net, RECIPES["d2l"], "cpu")
    hist = train(net, batches(2), batches(1), epochs=1, optimizer=opt, device="cpu",
                 num_classes=4, recipe=RECIPES["d2l"], progress=False)
    assert len(calls) == 2 and hist[0]["lr"] == 0.001


def test_evaluate_by_hand():
    class AlwaysOne(nn.Module):
        def forward(self, x):
            z = torch.zeros(x.shape[0], 2, *x.shape[2:])
            z[:, 1] = 1.0
            return z

    labels = torch.tensor([[[0, 1], [1, 255]]])
    s = evaluate(AlwaysOne(), [(torch.zeros(1, 3, 2, 2), labels)], num_classes=2, device="cpu")
    # cm = [[0, 1], [0, 2]]: pixel acc 2/3, IoU(0) = 0/1, IoU(1) = 2/3
    assert s["pixel_acc"] == pytest.approx(2 / 3)
    assert s["iou"] == pytest.approx([0.0, 2 / 3])
    assert s["mean_iou"] == pytest.approx(1 / 3)


def test_nan_loss_stops_with_epoch_and_step(tmp_path):
    data = batches(4)
    bad_X = data[2][0].clone()
    bad_X[0, 0, 3, 3] = float("nan")
    poisoned = data[:2] + [(bad_X, data[2][1])] + data[3:]

    class Epochs:
        """Clean data in epoch 1, a NaN image at step 3 of epoch 2."""

        def __init__(self):
            self.epoch = 0

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __iter__(self):
            return iter(data if self.epoch == 0 else poisoned)

    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    ckpt = tmp_path / "ckpt.pt"
    expected = r"loss is nan at epoch 2 step 3; lower --lr \(now 0.1\)"
    with pytest.raises(NonFiniteLossError, match=expected):
        train(net, Epochs(), data[:1], epochs=3, optimizer=opt, device="cpu", num_classes=4,
              checkpoint_path=ckpt, progress=False)
    assert load_checkpoint(ckpt)["epoch"] == 1  # the finished epoch survives


def test_huge_lr_diverges_to_a_clear_error():
    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=1e20)
    expected = r"loss is (nan|inf) at epoch 1 step \d+; lower --lr \(now 1e\+20\)"
    with pytest.raises(RuntimeError, match=expected):
        train(net, batches(6), batches(1), epochs=1, optimizer=opt, device="cpu",
              num_classes=4, progress=False)


@pytest.mark.parametrize("epochs, start", [(0, 0), (2, -1)])
def test_train_rejects_bad_epoch_counts(epochs, start):
    net = tiny_fcn()
    with pytest.raises(ValueError, match=rf"epochs >= 1 and start_epoch >= 0, got epochs={epochs}"):
        train(net, [], [], epochs=epochs, start_epoch=start, device="cpu", num_classes=4,
              optimizer=torch.optim.SGD(net.parameters(), lr=0.1), progress=False)


# ---------------------------------------------------------------- checkpoints and resume


def _run(net, epochs, ckpt=None, start=0, history=None, on_epoch_end=None, opt_state=None):
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    return train(net, batches(3), batches(1, seed=9), epochs=epochs, optimizer=opt,
                 device="cpu", num_classes=4, checkpoint_path=ckpt, start_epoch=start,
                 history=history, progress=False, on_epoch_end=on_epoch_end,
                 config={"model": "tiny"})


def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path):
    reference = tiny_fcn(seed=1)
    ref_hist = _run(reference, epochs=2)

    class Interrupted(Exception):
        pass

    def stop(row):
        raise Interrupted(row["epoch"])

    ckpt = tmp_path / "run" / "checkpoint.pt"
    with pytest.raises(Interrupted):
        _run(tiny_fcn(seed=1), epochs=3, ckpt=ckpt, on_epoch_end=stop)

    resumed = tiny_fcn(seed=7)  # other weights: all must come from the checkpoint
    state = load_checkpoint(ckpt, resumed)
    assert state["epoch"] == 1 and state["config"] == {"model": "tiny"}
    hist = _run(resumed, epochs=2, ckpt=ckpt, start=state["epoch"], history=state["history"],
                opt_state=state["optimizer"])
    assert [row["epoch"] for row in hist] == [1, 2]
    assert hist[0]["train_loss"] == ref_hist[0]["train_loss"]
    for p, q in zip(resumed.state_dict().values(), reference.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)  # momentum restored too
    assert load_checkpoint(ckpt)["epoch"] == 2


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, net, opt, epoch=1, history=[{"epoch": 1}])

    def crash(obj, f, *args, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(T.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, net, opt, epoch=2, history=[])
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no temp left


def test_checkpoint_strips_a_real_torch_compile_wrapper(tmp_path):
    net = tiny_fcn()
    compiled = torch.compile(net)  # compiles lazily, at the first call: none here
    assert any(k.startswith("_orig_mod.") for k in compiled.state_dict())
    path = save_checkpoint(tmp_path / "c.pt", compiled, torch.optim.SGD(net.parameters(), lr=1),
                           epoch=1, history=[])
    assert list(load_checkpoint(path)["model"]) == list(net.state_dict())
    fresh = tiny_fcn(seed=1)
    load_checkpoint(path, torch.compile(fresh))  # loads through the wrapper too
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(),
                                                  net.state_dict().values()))


def test_checkpoint_strips_compile_and_ddp_wrappers(tmp_path):
    class Compiled(nn.Module):  # what torch.compile returns keeps the model as _orig_mod
        def __init__(self, inner):
            super().__init__()
            self._orig_mod = inner

    net = tiny_fcn()
    path = save_checkpoint(tmp_path / "c.pt", Compiled(net), torch.optim.SGD(net.parameters(),
                           lr=1), epoch=0, history=[])
    assert list(load_checkpoint(path)["model"]) == list(net.state_dict())
    assert T.unwrap_model(net) is net


def test_missing_checkpoint_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"checkpoint .*nope.pt not found"):
        load_checkpoint(tmp_path / "nope.pt")


# ---------------------------------------------------------------- tiled prediction


def pointwise_net(num_classes=5):
    """1x1 convolutions only: exactly translation-equivariant, so tiles cannot disagree."""
    net = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.Conv2d(16, num_classes, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen(3)))
    return net


@pytest.mark.parametrize(
    "size, tile, overlap",
    [((20, 30), (32, 48), 0.25), ((32, 48), (32, 48), 0.5), ((101, 77), (32, 48), 0.25),
     ((65, 150), (33, 47), 0.0), ((7, 200), (16, 40), 0.6)],
)
def test_tiled_prediction_equals_whole_image(size, tile, overlap):
    net = pointwise_net()
    image = torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=gen(4))
    with torch.no_grad():
        whole = net(normalize_image(image)[None]).argmax(1)[0]
    tiled = predict(net, image, tile_size=tile, overlap=overlap, batch_size=3)
    assert tiled.dtype == torch.int64 and tiled.shape == size
    torch.testing.assert_close(tiled, whole, rtol=0, atol=0)


def test_tiles_average_their_logits():
    class TileEdge(nn.Module):
        """Class 1 near each tile's left edge, class 0 elsewhere: not equivariant."""

        def forward(self, x):
            z = torch.zeros(x.shape[0], 2, *x.shape[2:])
            z[:, 1, :, :4] = 3.0
            z[:, 0, :, 4:] = 1.0
            return z

    image = torch.zeros(3, 8, 24, dtype=torch.uint8)
    # tiles of width 8 start at 0, 4, 8, 12, 16; pixel columns 4..7 get logits (0, 3) from the
    # tile at 4 and (1, 0) from the tile at 0: mean (0.5, 1.5) -> class 1
    labels = predict(TileEdge(), image, tile_size=(8, 8), overlap=0.5)
    assert labels[0].tolist() == [1] * 20 + [0] * 4


def test_predict_with_an_fcn_on_odd_sizes():
    from transconv.models import build_model

    net = build_model("fcn_resnet18", num_classes=21)
    for size in ((40, 50), (70, 101)):
        image = torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=gen(5))
        labels = predict(net, image, tile_size=(64, 96))
        assert labels.shape == size and 0 <= int(labels.min()) and int(labels.max()) < 21
    assert net.training  # mode restored


@settings(max_examples=40)
@given(st.integers(1, 300), st.integers(1, 64), st.floats(0, 0.95))
def test_tile_starts_cover_and_overlap(extra, tile, overlap):
    length = tile + extra - 1
    starts = __import__('transconv.tiling').tiling._tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] == length - tile
    assert all(b - a <= max(1, int(tile * (1 - overlap))) for a, b in zip(starts, starts[1:]))
    assert all(b > a for a, b in zip(starts, starts[1:]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image": torch.zeros(3, 4, 4)}, r"uint8 tensor 3xHxW.*float32"),
        ({"image": torch.zeros(4, 4, dtype=torch.uint8)}, r"shape \(4, 4\)"),
        ({"tile_size": (0, 4)}, r"tile_size must be two positive ints \(h, w\), got \(0, 4\)"),
        ({"overlap": 1.0}, r"overlap must be a fraction of the tile in \[0, 1\), got 1.0"),
        ({"batch_size": 0}, r"batch_size must be a positive int, got 0"),
    ],
)
def test_predict_errors(kwargs, match):
    args = {"image": torch.zeros(3, 8, 8, dtype=torch.uint8), "tile_size": (4, 4), **kwargs}
    with pytest.raises(ValueError, match=match):
        predict(pointwise_net(), **args)


def test_predict_rejects_a_net_that_changes_size():
    with pytest.raises(ValueError, match=r"maps a 8x8 tile to \(4, 4\) logits"):
        predict(nn.Conv2d(3, 2, 2, stride=2), torch.zeros(3, 8, 8, dtype=torch.uint8),
                tile_size=(8, 8))


# ---------------------------------------------------------------- recipes, loaders, DDP


def test_recipes():
    assert RECIPES["d2l"].lr == 0.001 and RECIPES["d2l"].weight_decay == 1e-3
    assert RECIPES["d2l"].loss == "d2l" and RECIPES["d2l"].amp_dtype is None
    fast = RECIPES["fast"]
    assert fast.on("cuda") == fast and fast.torch_amp_dtype == torch.bfloat16
    cpu = fast.on("cpu")
    assert (cpu.amp_dtype, cpu.channels_last, cpu.fused, cpu.cudnn_benchmark, cpu.loader) == (
        None, False, False, False, "device")
    assert fast.cudnn_benchmark and not RECIPES["d2l"].cudnn_benchmark


@pytest.mark.parametrize(
    "kwargs, match",
    [({"loss": "sum"}, r"Recipe.loss must be one of \('mean', 'd2l'\), got 'sum'"),
     ({"loader": "gpu"}, r"Recipe.loader must be one of"),
     ({"amp_dtype": "float16"}, r"Recipe.amp_dtype must be one of"),
     ({"lr": 0.0}, r"lr > 0.*got lr=0.0")],
)
def test_recipe_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**{"name": "x", "lr": 0.1, **kwargs})


def test_fused_sgd_requested_only_on_cuda():
    net = nn.Linear(2, 2)
    assert make_optimizer(net, RECIPES["fast"], "cuda").defaults.get("fused") is True
    assert not make_optimizer(net, RECIPES["fast"], "cpu").defaults.get("fused")


def test_fused_falls_back_where_sgd_has_no_fused_argument(monkeypatch):
    class OldSGD(torch.optim.SGD):  # torch.optim.SGD before torch 2.3: no fused argument
        def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
            super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    monkeypatch.setattr(torch.optim, "SGD", OldSGD)
    opt = make_optimizer(nn.Linear(2, 2), RECIPES["fast"], "cuda")
    assert type(opt) is OldSGD and not opt.defaults.get("fused")
    assert (opt.defaults["lr"], opt.defaults["momentum"]) == (0.01, 0.9)


def test_cudnn_autotune_sets_and_restores_the_flag():
    before = torch.backends.cudnn.benchmark
    for wanted in (True, False):
        with pytest.raises(KeyError), cudnn_autotune(wanted):
            assert torch.backends.cudnn.benchmark is wanted
            raise KeyError  # restored on the way out of an error too
        assert torch.backends.cudnn.benchmark is before


class Watch:
    """A loader wrapper that records cuDNN's autotune flag and the images of every batch."""

    def __init__(self, inner):
        self.inner, self.flags, self.seen = inner, [], []

    def __len__(self):
        return len(self.inner)

    def set_epoch(self, epoch):
        self.inner.set_epoch(epoch)

    def __iter__(self):
        for X, Y in self.inner:
            self.flags.append(torch.backends.cudnn.benchmark)
            self.seen.append(X.sum().item())
            yield X, Y


def test_evaluation_sees_the_same_crops_every_epoch(voc_dir):
    train_iter, test_iter = make_loaders(voc_dir, RECIPES["fast"], batch_size=2,
                                         crop_size=(24, 32), device="cpu")
    watch = Watch(test_iter)
    net = tiny_fcn(num_classes=21)
    with cudnn_autotune(True):  # a setting of the caller's own ...
        train(net, train_iter, watch, epochs=3, device="cpu", num_classes=21,
              optimizer=torch.optim.SGD(net.parameters(), lr=0.0), recipe=RECIPES["d2l"],
              progress=False)
    assert all(watch.flags)  # ... is left alone by a recipe without autotuning
    per_epoch = len(watch.seen) // 3
    assert per_epoch >= 1 and watch.seen == watch.seen[:per_epoch] * 3


@pytest.fixture(scope="module")
def voc_dir(tmp_path_factory):
    from transconv.data.synthetic import make_synthetic_voc

    root = tmp_path_factory.mktemp("voc")
    return make_synthetic_voc(root, num_train=5, num_val=2, size=(40, 56), seed=1)


@pytest.mark.parametrize("name", ["d2l", "fast"])
def test_make_loaders(voc_dir, name):
    train_iter, test_iter = make_loaders(voc_dir, RECIPES[name], batch_size=2,
                                         crop_size=(32, 48), device="cpu")
    X, Y = next(iter(train_iter))
    assert X.shape == (2, 3, 32, 48) and X.dtype == torch.float32 and Y.dtype == torch.int64
    assert len(train_iter) == 2 and sum(y.shape[0] for _, y in test_iter) == 2


def test_make_loaders_crop_too_large(voc_dir):
    with pytest.raises(ValueError, match=r"crop 64x64 keeps 0 of 5 training images"):
        make_loaders(voc_dir, RECIPES["d2l"], batch_size=2, crop_size=(64, 64), device="cpu")


def test_single_process_is_plain(monkeypatch):
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert setup_distributed("cpu") == (0, 1, 0)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert setup_distributed("cpu") == (0, 1, 0)
    net = tiny_fcn()
    assert wrap_ddp(net, "cpu") is net
    assert not torch.distributed.is_initialized()


# ---------------------------------------------------------------- CUDA (where a GPU is)


def to_cuda_channels_last(data):
    return [(X.cuda().contiguous(memory_format=torch.channels_last), Y.cuda()) for X, Y in data]


@CUDA
def test_fast_step_on_cuda_reads_nothing_back_to_the_host():
    net = tiny_fcn().cuda().to(memory_format=torch.channels_last)
    opt = make_optimizer(net, RECIPES["fast"], "cuda")
    assert opt.defaults["fused"] is True
    data = to_cuda_channels_last(batches(4, size=(16, 24)))
    meter = T._EpochMeter(torch.device("cuda"), epoch=1)
    with cudnn_autotune(True):
        T._step(net, *data[0], opt, torch.bfloat16, loss_fn)  # autotuning, lazy init: may sync
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")  # any host sync now raises
        try:
            for X, Y in data[1:]:
                loss, logits = T._step(net, X, Y, opt, torch.bfloat16, loss_fn)
                meter.update(loss, logits, Y)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    meter.check(opt)
    loss, acc, images = meter.totals()
    assert math.isfinite(loss) and 0 <= acc <= 1 and images == 6


@CUDA
def test_fused_sgd_on_cuda_matches_the_plain_update():
    nets = [tiny_fcn().cuda() for _ in range(2)]
    fused = make_optimizer(nets[0], RECIPES["fast"], "cuda")
    plain = torch.optim.SGD(nets[1].parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4,
                            foreach=False)
    assert fused.defaults["fused"] is True
    X, Y = (t.cuda() for t in batches(1)[0])
    for _ in range(3):
        for net, opt in zip(nets, (fused, plain)):
            train_step(net, X, Y, opt)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@CUDA
def test_evaluate_on_cuda_equals_cpu():
    net = nn.Conv2d(3, 4, 1)
    with torch.no_grad():  # small integers: exact in TF32 too, so the argmax cannot differ
        net.weight.copy_(torch.randint(-2, 3, net.weight.shape, generator=gen()).float())
        net.bias.zero_()
    data = [(torch.randint(-3, 4, X.shape, generator=gen(i)).float(), Y)
            for i, (X, Y) in enumerate(batches(3))]
    cpu = evaluate(net, data, num_classes=4, device="cpu")
    gpu = evaluate(copy.deepcopy(net).cuda(), data, num_classes=4, device="cuda")
    assert gpu["pixel_acc"] == cpu["pixel_acc"] and gpu["mean_acc"] == cpu["mean_acc"]
    torch.testing.assert_close(torch.tensor(gpu["iou"]), torch.tensor(cpu["iou"]),
                               equal_nan=True)


@CUDA
def test_fast_recipe_trains_on_cuda_and_its_checkpoint_loads_on_cpu(voc_dir, tmp_path):
    from transconv.data.gpu import DeviceSegLoader
    from transconv.data.voc import read_rgb
    from transconv.models import build_model

    recipe = RECIPES["fast"].on("cuda")
    train_iter, test_iter = make_loaders(voc_dir, recipe, batch_size=2, crop_size=(32, 48),
                                         device="cuda")
    assert isinstance(train_iter, DeviceSegLoader) and train_iter.device.type == "cuda"
    torch.manual_seed(0)
    net = build_model("fcn_resnet18", num_classes=21).cuda().to(memory_format=torch.channels_last)
    opt = make_optimizer(net, recipe, "cuda")
    watch, before = Watch(train_iter), torch.backends.cudnn.benchmark
    hist = train(net, watch, test_iter, epochs=2, optimizer=opt, device="cuda", num_classes=21,
                 recipe=recipe, checkpoint_path=tmp_path / "c.pt", progress=False)
    assert all(watch.flags) and torch.backends.cudnn.benchmark == before
    assert [r["epoch"] for r in hist] == [1, 2] and all(math.isfinite(r["train_loss"])
                                                        for r in hist)
    cpu_net = build_model("fcn_resnet18", num_classes=21)
    load_checkpoint(tmp_path / "c.pt", cpu_net)
    X = next(iter(test_iter))[0]
    with torch.no_grad():
        want = cpu_net.eval()(X.cpu())
        got = net.eval()(X).float().cpu()
    torch.testing.assert_close(got, want, rtol=0, atol=0.02 * want.abs().max().item())
    image = read_rgb(sorted((voc_dir / "JPEGImages").glob("*.jpg"))[0])
    labels = predict(net, image, tile_size=(32, 48))
    assert labels.shape == image.shape[1:] and labels.device.type == "cpu"


@CUDA
def test_compiled_model_trains_on_cuda_and_saves_plain_keys(tmp_path):
    net = tiny_fcn().cuda().to(memory_format=torch.channels_last)
    opt = make_optimizer(net, RECIPES["fast"], "cuda")
    data = to_cuda_channels_last(batches(3, size=(16, 24)))
    hist = train(torch.compile(net), data, data[:1], epochs=1, optimizer=opt, device="cuda",
                 num_classes=4, recipe=RECIPES["fast"], checkpoint_path=tmp_path / "c.pt",
                 progress=False)
    assert math.isfinite(hist[0]["train_loss"]) and hist[0]["img_per_s"] > 0
    assert list(load_checkpoint(tmp_path / "c.pt")["model"]) == list(tiny_fcn().state_dict())
