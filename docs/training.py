# %% [markdown]
# # Training and results
#
# The published run on this page is **synthetic data trained on a CPU**: objects drawn by
# `make_synthetic_voc` (shapes with textures), not Pascal VOC photographs, trained with
# `python -m transconv train` on a CPU and stored in `docs/results/`. Its scores
# show that the pipeline learns; they say nothing about how an FCN does on VOC. For that, the
# page lists published scores of FCNs on real photographs, each with its source — scores this
# site has **not** reproduced. At the end, the page trains a tiny FCN while the site is built.

# %% [markdown]
# ## The published run: synthetic data, CPU
#
# `python -m transconv train ... --out DIR` writes `metrics.json` (final scores, one row per
# epoch, and provenance), `history.csv`, `curves.png` and `predictions.png` into `DIR`; the
# files here were copied from such a run. Its provenance, as recorded:

# %%
import json

from transconv.runs import published_results

# docs/results from the repository's root; None, with a note, anywhere else (a downloaded
# notebook): the cells that show the published run then show nothing
RESULTS = published_results()
if RESULTS:
    metrics = json.loads((RESULTS / "metrics.json").read_text())
    prov = metrics["provenance"]
    data = prov["data"]
    height, width = data["size"]

# %%
if RESULTS:
    run = (
        f"synthetic data (make_synthetic_voc, {data['num_train']} train / "
        f"{data['num_val']} val images of {height}x{width}), "
        f"trained on a CPU ({prov['device']})"
    )
    print(f"data:     {run}")
    args = metrics["args"]
    print(
        f"model:    {metrics['model']} from random weights "
        f"(weights={args.get('weights')}), recipe {metrics['recipe']['name']!r},\n"
        f"          {args['epochs']} epochs, crop {args['crop']}, "
        f"batch {args['batch_size']}"
    )
    print(f"versions: torch {prov['torch']}, torchvision {prov['torchvision']}")
    print(f"commit:   {prov['commit']}")
    print(f"date:     {prov['date']}")

# %% tags=["remove-input"]
# The first sentence of this page says "synthetic data on a CPU": keep it true.
if RESULTS:
    assert data["kind"] == "synthetic", data
    assert prov["device"].startswith("cpu"), prov["device"]
    assert metrics["args"].get("weights") is None  # "from random weights", as printed

# %% [markdown]
# The scores are the FCN paper's four. With $n_{ij}$ the pixels of class $i$ predicted as
# $j$, $t_i = \sum_j n_{ij}$ and $n_{cl}$ the classes present: pixel accuracy
# $\sum_i n_{ii} / \sum_i t_i$, mean accuracy $\frac{1}{n_{cl}} \sum_i n_{ii}/t_i$, mean IoU
# $\frac{1}{n_{cl}} \sum_i \frac{n_{ii}}{t_i + \sum_j n_{ji} - n_{ii}}$, and frequency-weighted
# IoU, the same ratios weighted by $t_i$. Pixels labelled 255 (object outlines) are not
# counted. In percent:

# %%
from IPython.display import Markdown, display

from transconv.viz import markdown_table

if RESULTS:
    final = metrics["final"]
    keys = ["pixel_acc", "mean_acc", "mean_iou", "fw_iou"]
    caption = (
        f"**Table 1.** Validation scores after epoch {final['epoch']} of the published "
        f"run: {run}. Not comparable with Table 3."
    )
    table = markdown_table(
        ["pixel acc. %", "mean acc. %", "mean IoU %", "f.w. IoU %"],
        [[f"{100 * final[key]:.1f}" for key in keys]],
    )
    display(Markdown(caption + "\n\n" + table))

# %% [markdown]
# The synthetic classes are shapes, not VOC's objects: `make_synthetic_voc` draws each class
# with its own shape and texture and stores it under a VOC label index (so the files have
# VOC's layout). Per class, named by what the images show:


# %%
from transconv.data import SYNTHETIC_CLASSES


def synthetic_name(index: int) -> str:
    """What objects of VOC label ``index`` look like in the synthetic data."""
    if index == 0:
        return "background"
    if index in SYNTHETIC_CLASSES:
        shape, texture = SYNTHETIC_CLASSES[index]
        return f"{shape}, {texture} texture"
    return f"none drawn (predicted only; VOC label {index})"


# %%
if RESULTS:
    present = [
        [i, synthetic_name(i), f"{100 * iou:.1f}"]
        for i, iou in enumerate(final["iou"])
        if iou is not None
    ]
    caption = (
        f"**Table 2.** IoU per class (%) of the published run: {run}. Classes absent "
        "from both the labels and the predictions are left out."
    )
    table = markdown_table(["label", "synthetic class", "IoU %"], present)
    display(Markdown(caption + "\n\n" + table))

# %% [markdown]
# Loss, pixel accuracy and mean IoU per epoch of the published run (synthetic data, CPU),
# drawn from the history in `metrics.json`:

# %%
from transconv.viz import plot_history, show

if RESULTS:
    display(show(plot_history(metrics["history"])))

# %% [markdown]
# The run's prediction grid (`predictions.png`, synthetic data, CPU): validation images,
# their labels, and the network's labels (cream = ignored outline pixels):

# %% tags=["remove-input"]
import base64

from IPython.display import HTML

if RESULTS:
    png = base64.b64encode((RESULTS / "predictions.png").read_bytes()).decode()
    alt = ("Validation images of the published run (synthetic data, CPU), their labels and "
           "the network's labels")
    style = "max-width: 100%"
    display(HTML(f'<img src="data:image/png;base64,{png}" alt="{alt}" style="{style}">'))

# %% [markdown]
# ## Published scores on real data (not reproduced here)
#
# What full runs on real data reach, as their authors report them. None of these was run by
# this site; they differ from the run above in data (real photographs), backbone
# initialisation (ImageNet-pretrained) and length:

# %% tags=["remove-input"]
def percent(value, approximate=False):
    return "—" if value is None else f"{'≈ ' if approximate else ''}{value:.1f}"


if RESULTS:
    references = json.loads((RESULTS / "references.json").read_text())["references"]
    rows = [
        [
            ref["model"],
            ref["data"],
            ref["start"],
            percent(ref["mean_iou"]),
            percent(ref["pixel_acc"], ref["approximate"]),
            f"[{ref['cite']}]({ref['url']})",
        ]
        for ref in references
    ]
    assert all(ref["url"].startswith("https://") for ref in references)
    assert not any("synthetic" in ref["data"] for ref in references)
    caption = (
        "**Table 3.** Published scores on real data that this site has **not** reproduced, "
        "with their sources. Not comparable with Tables 1 and 2, which are synthetic data "
        "on a CPU."
    )
    header = ["model", "data", "starts from", "mean IoU %", "pixel acc. %", "source"]
    sources = sorted(
        {f"- [{ref['cite']}]({ref['url']}): {ref['source']}" for ref in references}
    )
    table = markdown_table(header, rows)
    display(Markdown(caption + "\n\n" + table + "\n\nSources:\n\n" + "\n".join(sources)))

# %% [markdown]
# ## GPU runs on Pascal VOC
#
# The GPU workflow (`.github/workflows/train-gpu.yml`, see [GPU runner](gpu_runner.md)) trains
# both recipes on Pascal VOC from the ImageNet-pretrained backbone, the comparison the tables
# above need, and publishes each run to `docs/results/d2l/` and `docs/results/fast/`. This page
# lists whatever has been published there (it re-runs when those files appear):

# %% tags=["remove-input"]
from transconv.runs import summarize_runs

if RESULTS:
    gpu_runs = summarize_runs(RESULTS, names=("d2l", "fast"))
    if gpu_runs:
        assert all(run["data"] != "synthetic" for run in gpu_runs), gpu_runs
        columns = ["run", "model", "weights", "device", "epochs", "pixel_acc", "mean_iou",
                   "commit", "date"]
        caption = "**Table 4.** Published GPU runs on Pascal VOC 2012 (validation split)."
        table = markdown_table(columns, [[run[c] for c in columns] for run in gpu_runs])
        output = Markdown(caption + "\n\n" + table)
    else:
        output = Markdown(
            "No GPU run has been published yet: no GPU runner has run the workflow, so the only "
            "run on this site is the synthetic CPU run above."
        )
    display(output)

# %% [markdown]
# ## Speed: d2l's recipe against the fast one
#
# `benchmarks/train_throughput.py` times, in one run on one GPU, (a) a d2l-style step (fp32,
# NCHW), (b) transconv's fast step (bf16 autocast, channels_last, fused SGD) and (c) a whole
# epoch with the GPU-resident loader, and writes `docs/results/benchmark.json`:

# %% tags=["remove-input"]
if RESULTS:
    bench_file = RESULTS / "benchmark.json"
    if bench_file.is_file():
        bench = json.loads(bench_file.read_text())
        print(json.dumps(bench, indent=1))
    else:
        print("No GPU benchmark published yet (docs/results/benchmark.json is absent).")
        print("On a CUDA machine, the train-gpu workflow writes it with")
        print("    python benchmarks/train_throughput.py --write")

# %% [markdown]
# The two recipes, as `transconv.train.RECIPES` defines them, and the fast one as it runs off
# CUDA (`Recipe.on("cpu")` drops autocast, channels_last, fusing and cuDNN autotuning, which
# only pay off on a GPU):

# %%
from dataclasses import asdict

from transconv.train import RECIPES

fast_cpu = RECIPES["fast"].on("cpu")
recipes = {name: asdict(recipe) for name, recipe in RECIPES.items()}
recipes["fast on CPU"] = asdict(fast_cpu)

# %% tags=["remove-input"]
assert fast_cpu.amp_dtype is None and not fast_cpu.channels_last and not fast_cpu.fused
assert not fast_cpu.cudnn_benchmark
assert not RESULTS or metrics["recipe"]["name"] == "fast"
fields = [field for field in recipes["d2l"] if field != "name"]
rows = [[field] + [str(recipes[name][field]) for name in recipes] for field in fields]
caption = (
    "**Table 5.** Training recipes. The published run (synthetic data, CPU) used "
    "`fast`, as it runs on a CPU (last column)."
)
Markdown(caption + "\n\n" + markdown_table(["field", *recipes], rows))

# %% [markdown]
# ## Train one here
#
# A complete run while the site is built, on the build machine's CPU, in seconds. The
# published run trained `fcn_resnet18` from random weights (no ImageNet weights are downloaded
# during a build) for hundreds of steps, each a multiple of a small network's step (both
# measured below): more than this demo can afford. So the demo trains a **tiny FCN** made of
# the same parts — strided convolutions down by 8, a $1 \times 1$ scoring layer, and a
# $\times 8$ transposed convolution initialised as bilinear interpolation
# (`bilinear_upsampler`) — with the package's data, loaders, recipe and training loop.
#
# The data: 64 training and 16 validation images of $64 \times 96$ pixels with two synthetic
# classes, whose names say what they look like:

# %%
import tempfile

from transconv.data import make_synthetic_voc

classes = [7, 8]  # VOC label indices the synthetic classes are stored under
for index in classes:
    print(f"label {index}: {synthetic_name(index)}")
voc_dir = make_synthetic_voc(
    tempfile.mkdtemp(), num_train=64, num_val=16, size=(64, 96), seed=0, classes=classes,
    max_objects=4,
)

# %% [markdown]
# The loaders and the recipe (`fast`, as it runs on a CPU, at learning rate 0.02), with crops as
# large as the images (every epoch sees whole images, and validates on the same ones):

# %%
from dataclasses import replace

import torch

from transconv.data.loaders import make_loaders

torch.manual_seed(0)
torch.set_num_threads(1)  # tensors this small: one thread is as fast and never waits on others
recipe = replace(RECIPES["fast"].on("cpu"), lr=0.02)
train_iter, test_iter = make_loaders(
    voc_dir, recipe, batch_size=8, crop_size=(64, 96), device="cpu"
)

# %%
from torch import nn

from transconv.bilinear import bilinear_upsampler


def tiny_fcn(num_classes: int, widths=(16, 32, 64)) -> nn.Sequential:
    """Three stride-2 stages (x 1/8), 1x1 scores, a bilinear x8 transposed conv."""
    layers, channels = [], 3
    for width in widths:
        layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(True)]
        channels = width
    scores = nn.Conv2d(channels, num_classes, 1)
    return nn.Sequential(*layers, scores, bilinear_upsampler(num_classes, 2 ** len(widths)))


# %%
from transconv.models import fcn_resnet18

net = tiny_fcn(num_classes=21)
tiny_params = sum(p.numel() for p in net.parameters())
resnet_params = sum(p.numel() for p in fcn_resnet18(num_classes=21).parameters())
print(f"parameters: tiny FCN {tiny_params:,}, fcn_resnet18 {resnet_params:,}")

# %% [markdown]
# Why not ResNet-18 here: one training step on the same batch, timed (the best of three, on
# the machine that built this page), and the number of steps the published run took:


# %%
import time


def step_seconds(model: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
    """Best-of-three wall time of one SGD step (forward, loss, backward, update)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-9)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(model(X), Y, ignore_index=255)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return min(times)


# %%
X, Y = next(iter(train_iter))
tiny_s = step_seconds(tiny_fcn(21), X, Y)
resnet_s = step_seconds(fcn_resnet18(num_classes=21), X, Y)
print(
    f"one step, batch {tuple(X.shape)}: tiny FCN {1000 * tiny_s:.0f} ms, "
    f"fcn_resnet18 {1000 * resnet_s:.0f} ms ({resnet_s / tiny_s:.0f}x)"
)

# %%
if RESULTS:
    per_epoch = data["num_train"] // args["batch_size"]
    published_steps = args["epochs"] * per_epoch
    print(
        f"published run: {args['epochs']} epochs x {per_epoch} steps = {published_steps} "
        f"steps\n(batches of {args['batch_size']} crops of {args['crop']})"
    )

# %% tags=["remove-input"]
assert resnet_s > 1.5 * tiny_s  # a multiple, whatever else the machine is doing
assert not RESULTS or published_steps >= 200  # "hundreds of steps"

# %% [markdown]
# Ten epochs of eight steps each, the `fast` recipe's SGD (momentum 0.9) at learning rate
# 0.02, validating after every epoch:

# %%
from transconv.train import make_optimizer, train

optimizer = make_optimizer(net, recipe, "cpu")
start = time.perf_counter()
history = train(
    net, train_iter, test_iter, epochs=10, optimizer=optimizer, device="cpu", num_classes=21,
    recipe=recipe, progress=False,
)
seconds = time.perf_counter() - start
first, last = history[0]["mean_iou"], history[-1]["mean_iou"]
print(f"trained 10 epochs in {seconds:.1f} s on one thread of this machine's CPU")
print(f"validation mean IoU: epoch 1 {first:.3f} -> epoch 10 {last:.3f}")

# %% tags=["remove-input"]
assert len(train_iter) == 8 and recipe.momentum == 0.9 and recipe.lr == 0.02
assert last > first and last > 0.7, (first, last)
assert max(history[0]["iou"][i] for i in classes) < 0.1  # epoch 1: next to no objects found

# %%
show(plot_history(history))

# %% [markdown]
# Validation mean IoU rises from the first epoch (where the network finds next to none of
# the objects: IoU below 0.1 for both classes) to above 0.7 at the last, asserted above.
# `evaluate` gives the final scores on the 16 validation images (whole images: the crop is the
# image size):

# %%
from transconv.train import evaluate

scores = evaluate(net, test_iter, num_classes=21, device="cpu")
print({k: round(v, 3) for k, v in scores.items() if k != "iou"})
per_class = {synthetic_name(i): round(scores["iou"][i], 3) for i in [0, *classes]}
print("IoU per class:", per_class)

# %% tags=["remove-input"]
assert abs(scores["mean_iou"] - last) < 1e-9  # the same model and images as epoch 10

# %% [markdown]
# `predict` labels a whole image of any size (here one tile per image). Three validation
# images, their labels, and the tiny FCN's labels; each prediction agrees with its label on
# most of the labelled pixels (asserted: above 90 %):

# %%
from transconv.data import list_examples, read_voc_images, read_voc_label
from transconv.train import predict

images, _ = read_voc_images(voc_dir, is_train=False)
labels = [read_voc_label(label) for _, label in list_examples(voc_dir, "val")[:3]]
preds = [predict(net, img, tile_size=(64, 96)) for img in images[:3]]
accuracies = []
for label, pred in zip(labels, preds, strict=True):
    known = label != 255
    accuracies.append((pred[known] == label[known]).float().mean().item())
    present = sorted(label[known].unique().tolist())
    print(f"pixels right: {100 * accuracies[-1]:.1f} %  labels present {present}, "
          f"predicted {sorted(pred.unique().tolist())}")

# %% tags=["remove-input"]
assert min(accuracies) > 0.9

# %%
from transconv.viz import plot_predictions

show(plot_predictions(images[:3], labels, preds))
