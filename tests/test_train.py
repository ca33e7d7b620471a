"""Tests for transconv.train: the step, the loop, evaluation, loaders, NaN stop and resume."""

import copy
import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import transconv.losses
from tests.tiny_nets import batches, gen, tiny_fcn
from transconv.checkpoint import load_checkpoint
from transconv.data.loaders import make_loaders, set_loader_epoch
from transconv.losses import d2l_loss, loss_fn
from transconv.recipes import RECIPES, cudnn_autotune, make_optimizer
from transconv.tiling import predict
from transconv.train import NonFiniteLossError, evaluate, train, train_step

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


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
        terms = [
            -logp[b, target[b, i, j], i, j] if target[b, i, j] != 255 else 0.0
            for i in range(2)
            for j in range(3)
        ]
        expected.append(sum(terms) / 6)  # d2l divides by all H*W pixels
    torch.testing.assert_close(d2l_loss(logits, target).double(), torch.stack(expected))


def test_loss_shape_error():
    expected = (
        r"logits must be \(B, C, H, W\) and target \(B, H, W\).*\(1, 3, 2, 2\).*\(1, 2, 3\); "
    )
    with pytest.raises(ValueError, match=expected):
        loss_fn(torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 3, dtype=torch.long))


# ---------------------------------------------------------------- numerics


@pytest.mark.slow
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
        net, X = (
            net.to(memory_format=torch.channels_last),
            X.contiguous(memory_format=torch.channels_last),
        )
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


@pytest.mark.slow
def test_train_history_and_learning():
    net = tiny_fcn()
    data = batches(4)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    hist = train(
        net, data, data[:2], epochs=3, optimizer=opt, device="cpu", num_classes=4, progress=False
    )
    assert [row["epoch"] for row in hist] == [1, 2, 3]
    for key in (
        "train_loss",
        "train_acc",
        "pixel_acc",
        "mean_acc",
        "mean_iou",
        "fw_iou",
        "iou",
        "lr",
        "train_seconds",
        "seconds",
        "img_per_s",
    ):
        assert key in hist[0]
    assert hist[0]["img_per_s"] > 0 and len(hist[0]["iou"]) == 4
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_train_with_d2l_recipe_uses_summed_per_image_loss(monkeypatch):
    calls = []
    monkeypatch.setitem(
        transconv.losses.LOSSES, "d2l", lambda z, y: calls.append(1) or d2l_loss(z, y)
    )
    net = tiny_fcn()
    opt = make_optimizer(net, RECIPES["d2l"], "cpu")
    hist = train(
        net,
        batches(2),
        batches(1),
        epochs=1,
        optimizer=opt,
        device="cpu",
        num_classes=4,
        recipe=RECIPES["d2l"],
        progress=False,
    )
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
    expected = r"loss must be finite, got nan at epoch 2 step 3; lower --lr \(now 0.1\)"
    with pytest.raises(NonFiniteLossError, match=expected):
        train(
            net,
            Epochs(),
            data[:1],
            epochs=3,
            optimizer=opt,
            device="cpu",
            num_classes=4,
            checkpoint_path=ckpt,
            progress=False,
        )
    assert load_checkpoint(ckpt)["epoch"] == 1  # the finished epoch survives


def test_huge_lr_diverges_to_a_clear_error():
    net = tiny_fcn()
    opt = torch.optim.SGD(net.parameters(), lr=1e20)
    expected = r"loss must be finite, got (nan|inf) at epoch 1 step \d+; lower --lr \(now 1e\+20\)"
    with pytest.raises(RuntimeError, match=expected):
        train(
            net,
            batches(6),
            batches(1),
            epochs=1,
            optimizer=opt,
            device="cpu",
            num_classes=4,
            progress=False,
        )


@pytest.mark.parametrize("epochs, start", [(0, 0), (2, -1)])
def test_train_rejects_bad_epoch_counts(epochs, start):
    net = tiny_fcn()
    with pytest.raises(
        ValueError, match=rf"epochs must be >= 1 and start_epoch >= 0, got epochs={epochs}"
    ):
        train(
            net,
            [],
            [],
            epochs=epochs,
            start_epoch=start,
            device="cpu",
            num_classes=4,
            optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
            progress=False,
        )


def test_a_poly_schedule_needs_a_train_iter_with_a_len():
    net = tiny_fcn()
    recipe = dataclasses.replace(RECIPES["d2l"], schedule="poly")
    with pytest.raises(
        TypeError, match=r"train_iter must have a len for the 'poly' schedule, got generator; "
    ):
        train(
            net,
            (batch for batch in batches(1)),
            [],
            epochs=1,
            device="cpu",
            num_classes=4,
            recipe=recipe,
            optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
            progress=False,
        )


# ---------------------------------------------------------------- checkpoints and resume


def _run(net, epochs, ckpt=None, start=0, history=None, on_epoch_end=None, opt_state=None):
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    return train(
        net,
        batches(3),
        batches(1, seed=9),
        epochs=epochs,
        optimizer=opt,
        device="cpu",
        num_classes=4,
        checkpoint_path=ckpt,
        start_epoch=start,
        history=history,
        progress=False,
        on_epoch_end=on_epoch_end,
        config={"model": "tiny"},
    )


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
    hist = _run(
        resumed,
        epochs=2,
        ckpt=ckpt,
        start=state["epoch"],
        history=state["history"],
        opt_state=state["optimizer"],
    )
    assert [row["epoch"] for row in hist] == [1, 2]
    assert hist[0]["train_loss"] == ref_hist[0]["train_loss"]
    for p, q in zip(resumed.state_dict().values(), reference.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)  # momentum restored too
    assert load_checkpoint(ckpt)["epoch"] == 2


class Watch:
    """A loader wrapper that records cuDNN's autotune flag and the images of every batch."""

    def __init__(self, inner):
        self.inner, self.flags, self.seen = inner, [], []

    def __len__(self):
        return len(self.inner)

    def set_epoch(self, epoch):
        if hasattr(self.inner, "set_epoch"):
            self.inner.set_epoch(epoch)

    def __iter__(self):
        for X, Y in self.inner:
            self.flags.append(torch.backends.cudnn.benchmark)
            self.seen.append(X.sum().item())
            yield X, Y


def pointwise_net(num_classes=21, seed=3):
    """1x1 convolutions without BatchNorm: at lr 0 the model stays exactly the same."""
    net = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.Conv2d(16, num_classes, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen(seed)))
    return net


@pytest.mark.slow
@pytest.mark.parametrize("name", ["d2l", "fast"])
def test_evaluation_sees_the_same_crops_every_epoch(voc_dir, name):
    train_iter, test_iter = make_loaders(
        voc_dir, RECIPES[name], batch_size=2, crop_size=(24, 32), device="cpu", seed=3
    )
    watch = Watch(test_iter)
    net = pointwise_net()
    with cudnn_autotune(True):  # a setting of the caller's own ...
        hist = train(
            net,
            train_iter,
            watch,
            epochs=3,
            device="cpu",
            num_classes=21,
            optimizer=torch.optim.SGD(net.parameters(), lr=0.0),
            recipe=RECIPES[name],
            progress=False,
        )
    assert all(watch.flags)  # ... is left alone by a recipe without autotuning
    per_epoch = len(watch.seen) // 3
    assert per_epoch >= 1 and watch.seen == watch.seen[:per_epoch] * 3
    # the same weights evaluated three times through the loop: the same scores
    for key in ("pixel_acc", "mean_acc", "mean_iou", "fw_iou"):
        assert hist[0][key] == hist[1][key] == hist[2][key], key


class _Stop(Exception):
    """Raised after an epoch's checkpoint, as a Ctrl-C would interrupt the run there."""


def _run_from(voc_dir, name, ckpt, epochs, *, resume=False, stop_after=None, schedule=True):
    """A fresh process's view: new loaders, a new model, the checkpoint if resuming."""
    recipe = RECIPES[name.removesuffix("-workers")]
    train_iter, test_iter = make_loaders(
        voc_dir,
        recipe,
        batch_size=2,
        crop_size=(24, 32),
        device="cpu",
        seed=5,
        num_workers=1 if name.endswith("-workers") else 0,
    )
    net = tiny_fcn(num_classes=21, seed=1)
    opt = make_optimizer(net, recipe, "cpu")
    start, history, state = 0, None, {}
    if resume:
        state = load_checkpoint(ckpt, net, opt)
        start, history = state["epoch"], state["history"]

    def stop(row):
        if row["epoch"] == stop_after:
            raise _Stop

    try:
        hist = train(
            net,
            train_iter,
            test_iter,
            epochs=epochs,
            optimizer=opt,
            device="cpu",
            num_classes=21,
            recipe=recipe,
            checkpoint_path=ckpt,
            start_epoch=start,
            history=history,
            schedule_state=state.get("schedule") if schedule else None,
            progress=False,
            on_epoch_end=stop,
        )
    except _Stop:
        hist = None
    return net, hist


@pytest.mark.parametrize(
    "name, schedule",
    [
        pytest.param("d2l", True, marks=pytest.mark.slow),
        pytest.param("d2l-workers", True, marks=pytest.mark.slow),
        ("fast", True),  # the poly schedule, restored from the checkpoint
        pytest.param("fast", False, marks=pytest.mark.slow),  # ... or worked out without it
    ],
)  # fmt: skip
def test_interrupted_after_two_of_three_epochs_and_resumed_equals_three_straight(
    voc_dir, tmp_path, name, schedule
):
    straight, straight_hist = _run_from(voc_dir, name, tmp_path / "a.pt", 3)
    _run_from(voc_dir, name, tmp_path / "b.pt", 3, stop_after=2)
    resumed, hist = _run_from(voc_dir, name, tmp_path / "b.pt", 3, resume=True, schedule=schedule)
    assert [row["epoch"] for row in hist] == [1, 2, 3]
    for key in ("train_loss", "train_acc", "pixel_acc", "mean_iou", "lr"):
        assert [row[key] for row in hist] == [row[key] for row in straight_hist], key
    for (k, p), q in zip(resumed.state_dict().items(), straight.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=k)  # bit-identical on the CPU
    lrs = [row["lr"] for row in hist]
    if RECIPES[name.removesuffix("-workers")].schedule == "poly":
        assert lrs[0] > lrs[1] > lrs[2] == 0.0  # decayed to 0 at the last step, not constant
    else:
        assert lrs == [RECIPES["d2l"].lr] * 3


@pytest.mark.slow
def test_two_epochs_resumed_to_three_equal_three_straight(voc_dir, tmp_path):
    # a constant rate: a run that was planned for two epochs extends to three exactly
    straight, straight_hist = _run_from(voc_dir, "d2l", tmp_path / "a.pt", 3)
    _run_from(voc_dir, "d2l", tmp_path / "b.pt", 2)
    resumed, hist = _run_from(voc_dir, "d2l", tmp_path / "b.pt", 3, resume=True)
    assert [row["train_loss"] for row in hist] == [row["train_loss"] for row in straight_hist]
    for (k, p), q in zip(resumed.state_dict().items(), straight.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=k)


def test_training_batches_change_between_epochs_but_not_between_runs(voc_dir):
    def epoch_sums(epoch):
        train_iter, _ = make_loaders(
            voc_dir, RECIPES["d2l"], batch_size=2, crop_size=(24, 32), device="cpu", seed=5
        )
        set_loader_epoch(train_iter, epoch)
        return [X.sum().item() for X, _ in train_iter]

    assert epoch_sums(0) == epoch_sums(0) and epoch_sums(0) != epoch_sums(1)


def test_no_checkpoint_from_an_epoch_that_ends_with_non_finite_weights(tmp_path):
    net = tiny_fcn()
    data = batches(1)
    opt = torch.optim.SGD(net.parameters(), lr=math.inf)  # a finite loss, an infinite update
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(
        NonFiniteLossError,
        match=r"weights must be finite after epoch 1, got NaN or infinity although "
        r"its losses were finite; lower --lr \(now inf\)",
    ):
        train(
            net,
            data,
            data,
            epochs=1,
            optimizer=opt,
            device="cpu",
            num_classes=4,
            checkpoint_path=ckpt,
            progress=False,
        )
    assert not ckpt.exists()


def test_validation_without_a_labelled_pixel_fails_before_training(tmp_path):
    from transconv.data.synthetic import make_synthetic_voc
    from transconv.data.voc import read_voc_label

    voc = make_synthetic_voc(tmp_path, num_train=2, num_val=2, size=(40, 48), seed=2)
    from PIL import Image

    for name in (voc / "ImageSets" / "Segmentation" / "val.txt").read_text().split():
        path = voc / "SegmentationClass" / f"{name}.png"
        with Image.open(path) as png:
            blank = Image.new("P", png.size, 255)
            blank.putpalette(png.getpalette())
        blank.save(path)
        assert bool((read_voc_label(path) == 255).all())
    for recipe in ("d2l", "fast"):
        with pytest.raises(
            ValueError,
            match=r"the val split of .* must have at least one pixel that is not 255 \(ignore\), "
            r"got 2 labels with \d+ pixels, all 255",
        ):
            make_loaders(voc, RECIPES[recipe], batch_size=2, crop_size=(32, 32), device="cpu")


@pytest.fixture(scope="module")
def voc_dir(tmp_path_factory):
    from transconv.data.synthetic import make_synthetic_voc

    root = tmp_path_factory.mktemp("voc")
    return make_synthetic_voc(root, num_train=5, num_val=2, size=(40, 56), seed=1)


@pytest.mark.parametrize("name", ["d2l", "fast"])
def test_make_loaders(voc_dir, name):
    train_iter, test_iter = make_loaders(
        voc_dir, RECIPES[name], batch_size=2, crop_size=(32, 48), device="cpu"
    )
    X, Y = next(iter(train_iter))
    assert X.shape == (2, 3, 32, 48) and X.dtype == torch.float32 and Y.dtype == torch.int64
    assert len(train_iter) == 2 and sum(y.shape[0] for _, y in test_iter) == 2


def test_make_loaders_crop_too_large(voc_dir):
    with pytest.raises(
        ValueError,
        match=r"crop \(64, 64\) must keep at least 2 training image\(s\) \(batch size x "
        r"processes\), got 0 of 5; ",
    ):
        make_loaders(voc_dir, RECIPES["d2l"], batch_size=2, crop_size=(64, 64), device="cpu")


# ---------------------------------------------------------------- CUDA (where a GPU is)


def to_cuda_channels_last(data):
    return [(X.cuda().contiguous(memory_format=torch.channels_last), Y.cuda()) for X, Y in data]


@CUDA
def test_fast_step_on_cuda_reads_nothing_back_to_the_host():
    net = tiny_fcn().cuda().to(memory_format=torch.channels_last)
    opt = make_optimizer(net, RECIPES["fast"], "cuda")
    assert opt.defaults["fused"] is True
    data = to_cuda_channels_last(batches(4, size=(16, 24)))
    step = {"amp_dtype": torch.bfloat16, "criterion": loss_fn, "return_logits": True}
    with cudnn_autotune(True):
        train_step(net, *data[0], opt, **step)  # autotuning, lazy init: may sync
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")  # any host sync now raises
        try:
            losses = [train_step(net, X, Y, opt, **step)[0] for X, Y in data[1:]]
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert all(math.isfinite(loss.item()) for loss in losses)


@CUDA
def test_fused_sgd_on_cuda_matches_the_plain_update():
    nets = [tiny_fcn().cuda() for _ in range(2)]
    fused = make_optimizer(nets[0], RECIPES["fast"], "cuda")
    plain = torch.optim.SGD(
        nets[1].parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4, foreach=False
    )
    assert fused.defaults["fused"] is True
    X, Y = (t.cuda() for t in batches(1)[0])
    for _ in range(3):
        for net, opt in zip(nets, (fused, plain), strict=True):
            train_step(net, X, Y, opt)
    for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@CUDA
def test_evaluate_on_cuda_equals_cpu():
    net = nn.Conv2d(3, 4, 1)
    with torch.no_grad():  # small integers: exact in TF32 too, so the argmax cannot differ
        net.weight.copy_(torch.randint(-2, 3, net.weight.shape, generator=gen()).float())
        net.bias.zero_()
    data = [
        (torch.randint(-3, 4, X.shape, generator=gen(i)).float(), Y)
        for i, (X, Y) in enumerate(batches(3))
    ]
    cpu = evaluate(net, data, num_classes=4, device="cpu")
    gpu = evaluate(copy.deepcopy(net).cuda(), data, num_classes=4, device="cuda")
    assert gpu["pixel_acc"] == cpu["pixel_acc"] and gpu["mean_acc"] == cpu["mean_acc"]
    torch.testing.assert_close(torch.tensor(gpu["iou"]), torch.tensor(cpu["iou"]), equal_nan=True)


@CUDA
def test_fast_recipe_trains_on_cuda_and_its_checkpoint_loads_on_cpu(voc_dir, tmp_path):
    from transconv.data.gpu import DeviceSegLoader
    from transconv.data.voc import read_rgb
    from transconv.models import build_model

    recipe = RECIPES["fast"].on("cuda")
    train_iter, test_iter = make_loaders(
        voc_dir, recipe, batch_size=2, crop_size=(32, 48), device="cuda"
    )
    assert isinstance(train_iter, DeviceSegLoader) and train_iter.device.type == "cuda"
    torch.manual_seed(0)
    net = build_model("fcn_resnet18", num_classes=21).cuda().to(memory_format=torch.channels_last)
    opt = make_optimizer(net, recipe, "cuda")
    watch, before = Watch(train_iter), torch.backends.cudnn.benchmark
    hist = train(
        net,
        watch,
        test_iter,
        epochs=2,
        optimizer=opt,
        device="cuda",
        num_classes=21,
        recipe=recipe,
        checkpoint_path=tmp_path / "c.pt",
        progress=False,
    )
    assert all(watch.flags) and torch.backends.cudnn.benchmark == before
    assert [r["epoch"] for r in hist] == [1, 2] and all(
        math.isfinite(r["train_loss"]) for r in hist
    )
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
    hist = train(
        torch.compile(net),
        data,
        data[:1],
        epochs=1,
        optimizer=opt,
        device="cuda",
        num_classes=4,
        recipe=RECIPES["fast"],
        checkpoint_path=tmp_path / "c.pt",
        progress=False,
    )
    assert math.isfinite(hist[0]["train_loss"]) and hist[0]["img_per_s"] > 0
    assert list(load_checkpoint(tmp_path / "c.pt")["model"]) == list(tiny_fcn().state_dict())
