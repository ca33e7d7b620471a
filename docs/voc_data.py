# %% [markdown]
# # VOC data
#
# Pascal VOC is the dataset the FCN paper (VOC 2011, with extra labels from SBD) and d2l.ai
# (VOC 2012) train on. Its segmentation split pairs every training and validation image with a
# label PNG that colours every pixel by one of 21 classes, and draws object **outlines** in a
# 22nd colour that means "don't know". This page reads the data with `transconv.data`, shows
# why those outlines must be *ignored* rather than called background, and makes the random
# crops an FCN trains on. Each statement is asserted when the page is built.

# %% [markdown]
# ## The 21 classes
#
# Class $i$ is drawn in `VOC_COLORMAP[i]`; index 0 is background.

# %%
from transconv.data import VOC_CLASSES, VOC_COLORMAP
from transconv.viz import plot_palette, show

show(plot_palette(VOC_COLORMAP, VOC_CLASSES))

# %% tags=["remove-input"]
assert len(VOC_CLASSES) == len(VOC_COLORMAP) == 21 and VOC_CLASSES[0] == "background"

# %% [markdown]
# ## Where the data comes from
#
# The real dataset is downloaded by `download_voc(root)` (md5-checked, with mirrors for
# when the Oxford host is down). When the site is built without it, the page makes a synthetic
# dataset in exactly the VOC layout with `make_synthetic_voc`: textured shapes stored under a
# few VOC label indices (`SYNTHETIC_CLASSES`; the shape and texture identify the class, the
# VOC name does not describe it), outlined by a 255 boundary band as in VOC. The cell below
# says which one this build used.

# %%
import tempfile
from pathlib import Path

from transconv.data import SYNTHETIC_CLASSES, make_synthetic_voc
from transconv.data.layout import is_voc_tree

real_voc = Path("data/VOCdevkit/VOC2012")
synthetic = not is_voc_tree(real_voc)
if synthetic:
    sizes = [(352, 512), (300, 400), (360, 480)]
    voc_dir = make_synthetic_voc(tempfile.mkdtemp(), num_train=24, num_val=8, seed=0, sizes=sizes)
    print("This page uses: SYNTHETIC data from make_synthetic_voc (no Pascal VOC found)")
    for index, (shape, texture) in SYNTHETIC_CLASSES.items():
        print(f"label {index:>2} ({VOC_CLASSES[index]}): drawn as a {shape}, {texture} texture")
else:
    voc_dir = real_voc
    print(f"This page uses: Pascal VOC 2012 found at {real_voc}")


# %% tags=["remove-input"]
def class_name(index: int) -> str:
    """The VOC name of a label; on synthetic data also what its objects look like."""
    if index >= len(VOC_CLASSES):
        return "ignored (boundary)"
    if synthetic and index in SYNTHETIC_CLASSES:
        shape, texture = SYNTHETIC_CLASSES[index]
        return f"{VOC_CLASSES[index]} label: synthetic {shape}, {texture} texture"
    return VOC_CLASSES[index]

# %% [markdown]
# `read_voc_images` returns the images and the *RGB* label images, as d2l's function does:

# %%
from transconv.data import read_voc_images
from transconv.viz import show_images

images, label_images = read_voc_images(voc_dir, is_train=True)
print(len(images), "training images; first:", tuple(images[0].shape), images[0].dtype)
show(show_images(images[:3] + label_images[:3], ncols=3))

# %% tags=["remove-input"]
import torch

assert label_images[0].shape == images[0].shape and label_images[0].dtype == torch.uint8

# %% [markdown]
# ## From colours to class indices — and the boundary
#
# `voc_colormap2label()` is a lookup table over all $256^3$ colours; `voc_label_indices` turns
# each pixel's colour into its class. Every colour that is not one of the 21 — above all the
# cream outline (224, 224, 192) — becomes `IGNORE_INDEX` = 255:

# %%
from transconv.data import IGNORE_INDEX, voc_colormap2label, voc_label_indices

colormap2label = voc_colormap2label()
cream = (224 * 256 + 224) * 256 + 192  # the table is indexed by (R * 256 + G) * 256 + B
print("cream ->", colormap2label[cream].item(), "  IGNORE_INDEX =", IGNORE_INDEX)
labels = voc_label_indices(label_images[0], colormap2label)
values, counts = labels.unique(return_counts=True)

# %% tags=["remove-input"]
from IPython.display import Markdown

from transconv.viz import markdown_table

assert colormap2label[cream] == IGNORE_INDEX == 255
assert int((colormap2label != IGNORE_INDEX).sum()) == 21  # only the 21 class colours map
names = [class_name(v) for v in values.tolist()]
Markdown(
    "The first training label, pixels per class:\n\n"
    + markdown_table(
        ["label", "class", "pixels"],
        list(zip(values.tolist(), names, counts.tolist(), strict=True)),
    )
)

# %% [markdown]
# **d2l's pitfall.** d2l builds its table with `torch.zeros`, so every colour it does not list
# maps to 0, *background*. The outline pixels of every object are then trained as background
# (teaching the network that object edges are background, exactly where segmentation is
# hardest) and counted as background in the metrics. Over the whole training split of *this
# build's data* (synthetic unless Pascal VOC was found; the cell says which — the share of outline
# pixels in the synthetic images says nothing about VOC's):

# %%
import torch

known = colormap2label != IGNORE_INDEX
d2l_table = torch.zeros(256**3, dtype=torch.long)  # d2l: every unknown colour -> 0
d2l_table[known] = colormap2label[known]
boundary = total = mislabelled = 0
for label_image in label_images:
    ours = voc_label_indices(label_image, colormap2label)
    theirs = voc_label_indices(label_image, d2l_table)
    boundary += int((ours == IGNORE_INDEX).sum())
    mislabelled += int(((ours == IGNORE_INDEX) & (theirs == 0)).sum())
    total += ours.numel()
data = "synthetic data" if synthetic else "Pascal VOC 2012"
print(f"boundary pixels ({data}): {boundary:,} of {total:,} ({100 * boundary / total:.1f}%)")
print(f"d2l would call {mislabelled:,} of them background ({100 * mislabelled / boundary:.0f}%)")

# %% tags=["remove-input"]
assert mislabelled == boundary > 0  # every outline pixel becomes background

# %% [markdown]
# In transconv the loss uses `ignore_index=255` and `confusion_matrix` drops those pixels, so
# they neither teach nor score.
#
# ## The palette route
#
# VOC's label PNGs are *palette* images: each pixel stores an index into a 256-colour palette,
# and VOC's palette puts class $i$'s colour at index $i$ and the outline at 255. So the stored
# indices **are** the labels. `read_voc_label` reads them directly (checking the palette),
# skipping the colour lookup, and agrees exactly with the RGB route (asserted; the times are
# as measured on the machine that built this page):

# %%
import time

from transconv.data import list_examples, read_rgb, read_voc_label

paths = [label for _, label in list_examples(voc_dir, "train")]
start = time.perf_counter()
fast = [read_voc_label(path) for path in paths]
fast_ms = 1000 * (time.perf_counter() - start) / len(paths)
start = time.perf_counter()
slow = [voc_label_indices(read_rgb(path), colormap2label) for path in paths]
slow_ms = 1000 * (time.perf_counter() - start) / len(paths)
print(f"{len(paths)} labels, equal: {all(map(torch.equal, fast, slow))}; per label, with decoding:")
print(f"palette indices:   {fast_ms:.2f} ms")
print(f"RGB colour lookup: {slow_ms:.2f} ms")

# %% tags=["remove-input"]
assert all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))

# %% [markdown]
# ## Random crops
#
# FCN trains on fixed-size crops (d2l: 320 x 480). `VOCSegDataset` drops images smaller than
# the crop, says how many, and cuts the **same** random window out of an image and its label.
# The first three training examples, cropped, above their cropped labels:

# %%
from transconv.data import VOCSegDataset

crop = (320, 480)
dataset = VOCSegDataset(True, crop, voc_dir, seed=0)  # each crop: a function of (seed, epoch, i)
samples = [dataset[i] for i in range(3)]

# %% tags=["remove-input"]
small = sum(1 for img in images if img.shape[1] < crop[0] or img.shape[2] < crop[1])
assert dataset.num_dropped == small and dataset.num_kept == len(images) - small
assert all(x.shape == (3, *crop) and y.shape == crop for x, y in samples)
again = VOCSegDataset(True, crop, voc_dir, seed=0, verbose=False)
assert all(torch.equal(again[i][1], samples[i][1]) for i in range(3))  # same seed, same crops

# %%
from transconv.data import IMAGENET_MEAN, IMAGENET_STD, label2image

mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
shown = [(x * std + mean).clamp(0, 1) for x, _ in samples] + [label2image(y) for _, y in samples]
show(show_images(shown, ncols=3))

# %% [markdown]
# The images are normalised as the ImageNet backbone expects: divided by 255 first (d2l's
# original code forgot this, fixed in its PR #1980), then standardised per channel:

# %%
from transconv.data import normalize_image

x = normalize_image(images[0])
print("dtype", x.dtype)
print("per-channel mean", [round(v, 2) for v in x.mean((1, 2)).tolist()])
print("per-channel std ", [round(v, 2) for v in x.std((1, 2)).tolist()])

# %% tags=["remove-input"]
torch.testing.assert_close(x, (images[0].float() / 255 - mean) / std)

# %% [markdown]
# `load_data_voc` wraps both splits in data loaders (training shuffled, last partial batch
# dropped); its `seed` fixes the shuffle and the crops:

# %%
from transconv.data import load_data_voc

train_iter, test_iter = load_data_voc(4, crop, voc_dir, seed=0)
X, Y = next(iter(train_iter))
print("images:", tuple(X.shape), X.dtype, " labels:", tuple(Y.shape), Y.dtype)
print("label values in this batch:", sorted(Y.unique().tolist()))

# %% tags=["remove-input"]
order = list(train_iter.sampler)  # the order of training examples in an epoch
assert sorted(order) == list(range(dataset.num_kept)) and order != sorted(order)
assert train_iter.drop_last and len(train_iter) == dataset.num_kept // 4
X2, Y2 = next(iter(load_data_voc(4, crop, voc_dir, seed=0, verbose=False)[0]))
assert torch.equal(X, X2) and torch.equal(Y, Y2)  # same seed, same first batch
