# %% [markdown]
# # Training and results
#
# This page shows the published results of training an FCN, read from the files in
# `docs/results/` that the training job writes, with where and how they were made. Then it
# trains a small FCN on the CPU while the site is built, so every step can be seen running.

# %%
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from IPython.display import Image, Markdown

from transconv.data import (
    VOC_CLASSES,
    make_synthetic_voc,
    read_voc_images,
    read_voc_label,
)
from transconv.models import fcn_resnet18
from transconv.train import (
    RECIPES,
    evaluate,
    make_loaders,
    make_optimizer,
    predict,
    train,
)
from transconv.viz import markdown_table, plot_history, plot_predictions

RESULTS = Path("docs/results")

# %% [markdown]
# ## Published results
#
# `python -m transconv train ... --out DIR` writes `metrics.json` (final scores, one row per
# epoch, and provenance), `history.csv`, `curves.png` and `predictions.png`; the GPU workflow
# copies them here (the provenance below says which machine made the current files):

# %%
metrics = json.loads((RESULTS / "metrics.json").read_text())
prov = metrics["provenance"]
data = prov["data"]
if data["kind"] == "synthetic":
    height, width = data["size"]
    data_line = ("SYNTHETIC (make_synthetic_voc), not Pascal VOC: "
                 f"{data['num_train']} train / {data['num_val']} val, {height}x{width}")
else:
    data_line = f"Pascal VOC 2012 at {data.get('path', '?')}"
print(f"data:     {data_line}")
print(f"model:    {metrics['model']}, recipe {metrics['recipe']['name']!r}, "
      f"{metrics['args']['epochs']} epochs, crop {metrics['args']['crop']}, "
      f"batch {metrics['args']['batch_size']}")
print(f"device:   {prov['device']}")
print(f"versions: torch {prov['torch']}, torchvision {prov['torchvision']}")
print(f"commit:   {prov['commit']}")
print(f"date:     {prov['date']}")

# %% [markdown]
# The FCN paper's four scores on the validation split. With $n_{ij}$ the pixels of class $i$
# predicted as $j$, $t_i = \sum_j n_{ij}$ and $n_{cl}$ the classes present: pixel accuracy
# $\sum_i n_{ii} / \sum_i t_i$, mean accuracy $\frac{1}{n_{cl}} \sum_i n_{ii}/t_i$, mean IoU
# $\frac{1}{n_{cl}} \sum_i \frac{n_{ii}}{t_i + \sum_j n_{ji} - n_{ii}}$, and frequency-weighted
# IoU, the same ratios weighted by $t_i$. Pixels labelled 255 (object outlines) are not counted.

# %%
final = metrics["final"]
keys = ["pixel_acc", "mean_acc", "mean_iou", "fw_iou"]
Markdown(markdown_table(["pixel acc.", "mean acc.", "mean IoU", "f.w. IoU"],
                        [[final[key] for key in keys]]))

# %% [markdown]
# Per class (classes absent from both the labels and the predictions don't count):

# %%
present = [(VOC_CLASSES[i], iou) for i, iou in enumerate(final["iou"])
           if iou is not None]
Markdown(markdown_table(["class", "IoU"], present))

# %% [markdown]
# Loss, pixel accuracy and mean IoU per epoch, drawn from the history in `metrics.json`:

# %%
plot_history(metrics["history"])

# %% [markdown]
# The run's prediction grid (`predictions.png`): validation images, their labels, and the
# network's labels (cream = ignored outline pixels):

# %%
Image(filename=str(RESULTS / "predictions.png"))

# %% [markdown]
# ## Speed: d2l's recipe against the fast one
#
# `benchmarks/train_throughput.py` times, in one run on one GPU, (a) a d2l-style step (fp32,
# NCHW), (b) transconv's fast step (bf16 autocast, channels_last, fused SGD) and (c) a whole
# epoch with the GPU-resident loader, and writes `docs/results/benchmark.json`:

# %%
bench_file = RESULTS / "benchmark.json"
if bench_file.is_file():
    bench = json.loads(bench_file.read_text())
    print(json.dumps(bench, indent=1))
else:
    print("No GPU benchmark published yet (docs/results/benchmark.json is absent).")
    print("On a CUDA machine, the train-gpu workflow writes it with")
    print("    python benchmarks/train_throughput.py --write")

# %% [markdown]
# The two recipes, as `transconv.train.RECIPES` defines them (off CUDA the fast recipe drops
# autocast, channels_last and fusing, which only pay off on a GPU):

# %%
recipes = {name: asdict(recipe) for name, recipe in RECIPES.items()}
fields = [field for field in recipes["d2l"] if field != "name"]
rows = [[field] + [str(recipes[name][field]) for name in recipes] for field in fields]
Markdown(markdown_table(["field", *recipes], rows))

# %% [markdown]
# ## Train one here
#
# A complete run, small enough for the CPU that builds this site: synthetic VOC-format data,
# ResNet-18 FCN-32s from random weights, a few epochs of the fast recipe.

# %%
_ = torch.manual_seed(0)
voc_dir = make_synthetic_voc(tempfile.mkdtemp(), num_train=32, num_val=8,
                             size=(128, 192), seed=0)
recipe = RECIPES["fast"].on("cpu")
train_iter, test_iter = make_loaders(voc_dir, recipe, batch_size=8, crop_size=(96, 128),
                                     device="cpu")
net = fcn_resnet18(num_classes=21)
optimizer = make_optimizer(net, recipe, "cpu")
history = train(net, train_iter, test_iter, epochs=4, optimizer=optimizer, device="cpu",
                num_classes=21, recipe=recipe, progress=False)
plot_history(history)

# %% [markdown]
# `evaluate` scores the network on the validation crops. A few epochs from random weights on
# a few dozen images are far too little to learn much: the curves above are noisy and these
# scores low. The run shows the pipeline working end to end; the published results above show
# what a full run reaches.

# %%
scores = evaluate(net, test_iter, num_classes=21, device="cpu")
print({k: round(v, 3) for k, v in scores.items() if k != "iou"})

# %% [markdown]
# `predict` labels a whole image of any size: here $128 \times 192$ images with $96 \times 128$
# tiles, so each image is covered by overlapping tiles whose logits are averaged.

# %%
images, _ = read_voc_images(voc_dir, is_train=False)
names = (voc_dir / "ImageSets" / "Segmentation" / "val.txt").read_text().split()[:3]
labels = [read_voc_label(voc_dir / "SegmentationClass" / f"{n}.png") for n in names]
preds = [predict(net, img, tile_size=(96, 128)) for img in images[:3]]
print("image", tuple(images[0].shape), "-> labels", tuple(preds[0].shape))
plot_predictions(images[:3], labels, preds)
