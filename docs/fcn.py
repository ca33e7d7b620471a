# %% [markdown]
# # Fully convolutional networks
#
# A fully convolutional network (FCN; Long, Shelhamer & Darrell, 2015) turns an image
# classifier into a per-pixel classifier: drop the global pooling and fully connected layers,
# score every cell of the last feature map with a $1 \times 1$ convolution, and upsample the
# scores back to the image with a **transposed convolution** initialised as bilinear
# interpolation. This page builds the three FCNs in `transconv.models`, prints their shapes,
# derives the upsampler's kernel, stride and padding, and asserts every size and count it states.

# %% [markdown]
# ## ResNet-18 FCN-32s (d2l's model)
#
# ResNet-18 without its average pooling and fully connected layer halves the resolution five
# times, so a $320 \times 480$ image becomes a $10 \times 15$ grid of 512-channel features:

# %%
import torch

from transconv.models import fcn_resnet18

torch.manual_seed(0)
net = fcn_resnet18(num_classes=21).eval()
X = torch.rand(1, 3, 320, 480)
with torch.no_grad():
    features = net.backbone(X)
    scores = net.final_conv(features)
    Y = net(X)
for name, value in [("image", X), ("backbone", features), ("final_conv", scores), ("output", Y)]:
    print(f"{name:10}", tuple(value.shape))

# %% tags=["remove-input"]
assert features.shape == (1, 512, 10, 15) and Y.shape == (1, 21, 320, 480)

# %% [markdown]
# ### What one cell sees: the receptive field
#
# Each of the $10 \times 15$ cells is computed from a window of the image, its **receptive
# field**. A layer with kernel $k$ and stride $s$ widens the window by $k - 1$ steps of the grid
# it reads, and multiplies that grid's spacing (the *jump*) by $s$: with $r$ the receptive field
# and $j$ the jump, $r \leftarrow r + (k - 1) j$ and $j \leftarrow j s$, starting from
# $r = j = 1$ on the image. Along ResNet-18's longest path (its residual shortcuts are
# $1 \times 1$ and see less):

# %%
from torch import nn


def receptive_field(layers):
    """Receptive field r and jump j, in input pixels, after (kernel, stride) layers."""
    r, j = 1, 1
    for k, s in layers:
        r, j = r + (k - 1) * j, j * s
    return r, j


def first(value):
    return value[0] if isinstance(value, tuple) else value  # Conv2d keeps pairs, MaxPool2d ints


def main_path(backbone):
    """(kernel, stride) of every conv and pool in order, shortcuts left out."""
    layers = [m for n, m in backbone.named_modules() if "downsample" not in n]
    layers = [m for m in layers if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    return [(first(m.kernel_size), first(m.stride)) for m in layers]


# %%
resnet_layers = main_path(net.backbone)
print(len(resnet_layers), "layers; receptive field and jump:", receptive_field(resnet_layers))

# %% [markdown]
# So neighbouring cells are **32 pixels apart** — the jump is the product of the five
# stride-2 layers, and the reason the scores must be upsampled $\times 32$ — while each cell's
# receptive field is **435 pixels** wide, larger than the image's 320 rows: every cell sees
# context far beyond its own $32 \times 32$ block. Checked by building a one-channel copy of that
# path, with every weight 1, and finding which input pixels the gradient of one output cell reaches:

# %% tags=["remove-input"]
assert receptive_field(resnet_layers) == (435, 32) and 435 > X.shape[-2]
assert [s for _, s in resnet_layers].count(2) == 5 and 2**5 == 32
path = nn.Sequential(*[
    nn.Conv2d(1, 1, k, s, padding=k // 2, bias=False) for k, s in resnet_layers
])
for conv in path:
    nn.init.ones_(conv.weight)
probe = torch.zeros(1, 1, 480, 480, requires_grad=True)
path(probe)[0, 0, 7, 7].backward()
rows = probe.grad[0, 0].abs().sum(1).nonzero()
assert rows.max() - rows.min() + 1 == 435  # the gradient reaches exactly 435 rows
print("one-channel copy: the gradient of cell (7, 7) reaches", int(rows.max() - rows.min() + 1),
      "rows of the image")

# %% [markdown]
# ### The upsampler: why kernel 2f, stride f and padding f/2 give exactly f times the size
#
# `final_conv` is a $1 \times 1$ convolution from 512 channels to the 21 VOC classes, and
# `transpose_conv` scales the $10 \times 15$ score map by 32. Its kernel, stride and padding come
# from `upsampling_params(f)`: $s = f$, $k = 2f - (f \bmod 2)$, $p = \lfloor f/2 \rfloor$. A
# transposed convolution maps $n$ rows to $(n - 1)s - 2p + k$. For even $f$ that is
# $(n - 1)f - f + 2f = nf$; for odd $f$, $(n - 1)f - (f - 1) + (2f - 1) = nf$. Exactly $\times f$,
# for every $n$:

# %%
from transconv.shapes import conv_transpose_output_size, upsampling_params

k, s, p = upsampling_params(32)
print(net.transpose_conv)
print("upsampling_params(32) =", (k, s, p))
grid = tuple(scores.shape[-2:])
print(grid, "->", conv_transpose_output_size(grid, k, s, p))

# %% tags=["remove-input"]
tconv, final = net.transpose_conv, net.final_conv
assert (final.in_channels, final.out_channels, final.kernel_size) == (512, 21, (1, 1))
assert (tconv.kernel_size, tconv.stride, tconv.padding) == ((k, k), (s, s), (p, p))
assert conv_transpose_output_size(grid, k, s, p) == (32 * grid[0], 32 * grid[1])
for f in range(1, 65):
    kf, sf, pf = upsampling_params(f)
    assert (sf, kf, pf) == (f, 2 * f - f % 2, f // 2)
    for n in range(1, 20):
        assert conv_transpose_output_size(n, kf, sf, pf) == n * f, (f, n)

# %% [markdown]
# The padding also puts each cell where it belongs. Cell $i$ stands for the block of image rows
# $[fi, f(i + 1))$, whose centre is $fi + (f - 1)/2$. The transposed convolution stamps cell
# $i$'s kernel onto output rows $fi - p, \dots, fi - p + k - 1$, so the kernel's centre tap,
# $(k - 1)/2$, lands on $fi - p + (k - 1)/2$ — for even $f$, $fi - f/2 + f - \tfrac12 = fi +
# (f - 1)/2$, the centre of the block, and the same for odd $f$. Checked for
# $f = 1, \dots, 64$ by stamping one cell and taking the centre of mass of what lands:

# %%
from transconv.bilinear import bilinear_upsampler


def stamp_centre(f, i=3, n=8):
    """Where the upsampler puts cell i of an n-cell row: the centre of mass of its stamp."""
    x = torch.zeros(1, 1, 1, n, dtype=torch.float64)
    x[..., i] = 1
    with torch.no_grad():
        row = bilinear_upsampler(1, f).double()(x)[0, 0, 0]
    return (row * torch.arange(len(row))).sum().item() / row.sum().item()


print("f = 32, cell 3: stamp centred on row", stamp_centre(32), "; block centre", 32 * 3 + 15.5)

# %% tags=["remove-input"]
for f in range(1, 65):
    assert abs(stamp_centre(f) - (f * 3 + (f - 1) / 2)) < 1e-9, f

# %% [markdown]
# Where a cell *looks* is another matter. ResNet-18's layers are padded "same" ($p = \lfloor k/2
# \rfloor$), so a stride-2 layer centres output $i$ on input $2i$, and cell $i$'s receptive field
# is centred on image row $32i$: the top edge of its block, not its centre. In the one-channel
# copy above, cell 7's field is centred on row 224 while the upsampler centres its stamp on row
# 239.5: every cell is painted 15.5 pixels below the middle of what it saw. The offset is the
# same for every cell (the top-left crop keeps it so), and training has to absorb it.

# %% tags=["remove-input"]
field_centre = (rows.min() + rows.max()).item() / 2
assert field_centre == 32 * 7 and stamp_centre(32, i=7, n=10) - field_centre == 15.5

# %% [markdown]
# ### Which upsamplers learn
#
# The weights start as bilinear interpolation, so the untrained network already upsamples
# smoothly. Whether training may then change them differs between models, and between the FCN
# paper and its code:
#
# * **d2l's ResNet-18 FCN** (`fcn_resnet18`) *trains* its $\times 32$ transposed convolution from
#   that start, like every other weight;
# * the **paper's VGG-16 FCNs** (`fcn_vgg16`) keep the final upsampler (`upscore`: $\times 32$,
#   $\times 16$ or $\times 8$) **frozen** at bilinear interpolation and learn the intermediate
#   $\times 2$ ones (`upscore2_*`), as the paper describes; the released Caffe
#   nets go further and freeze *every* deconvolution (`lr_mult: 0` in
#   [voc-fcn8s/net.py](https://github.com/shelhamer/fcn.berkeleyvision.org/blob/master/voc-fcn8s/net.py));
# * the **learned decoder** (`fcn_vgg16_deconv`, below) learns all five of its upsamplers, from
#   PyTorch's default (random) initialisation.

# %%
from transconv.models import fcn_vgg16, fcn_vgg16_deconv

with torch.device("meta"):
    vgg8, deconv = fcn_vgg16(variant="8s"), fcn_vgg16_deconv()
for model_name, model in [("fcn_resnet18", net), ("fcn_vgg16 8s", vgg8), ("deconv", deconv)]:
    for name, m in model.named_modules():
        if isinstance(m, nn.ConvTranspose2d):
            print(f"{model_name:13} {name:22} learns: {m.weight.requires_grad}")

# %% tags=["remove-input"]
from transconv.bilinear import bilinear_kernel

assert torch.equal(net.transpose_conv.weight.data, bilinear_kernel(21, 21, 64))
assert net.transpose_conv.weight.requires_grad
assert not vgg8.upscore.weight.requires_grad
assert vgg8.upscore2_pool4.weight.requires_grad and vgg8.upscore2_pool3.weight.requires_grad
assert all(b.deconv.weight.requires_grad for b in deconv.decoder)
from transconv.models.fcn import DeconvBlock

assert not torch.equal(DeconvBlock(4, 4).deconv.weight, bilinear_kernel(4, 4, 3))  # not bilinear

# %% [markdown]
# ### Sizes not divisible by 32
#
# ResNet's stride-2 layers round *up*, so an $H \times W$ image gives a
# $\lceil H/32 \rceil \times \lceil W/32 \rceil$ grid, the upsampled map is
# $32\lceil H/32\rceil \ge H$ rows, and the model crops the surplus at the bottom and right.
# The top-left crop keeps every pixel aligned with the grid (a centre crop would shift the
# prediction by half the surplus):

# %%
from IPython.display import Markdown

from transconv.viz import markdown_table

table = []
for h, w in [(320, 480), (321, 479), (100, 100), (33, 65)]:
    with torch.no_grad():
        grid = tuple(net.backbone(torch.rand(1, 3, h, w)).shape[-2:])
        out = tuple(net(torch.rand(1, 3, h, w)).shape[-2:])
    up = conv_transpose_output_size(grid, k, s, p)
    table.append([f"{a} x {b}" for a, b in [(h, w), grid, up, out]])
Markdown(markdown_table(["input", "backbone grid", "x32", "output (cropped)"], table))

# %% tags=["remove-input"]
import math

for row in table:
    (h, w), grid, _, out = [tuple(int(v) for v in cell.split(" x ")) for cell in row]
    assert grid == (math.ceil(h / 32), math.ceil(w / 32)) and out == (h, w)

# %% [markdown]
# ## VGG-16 FCN-32s, 16s and 8s: the skip architecture
#
# Upsampling $\times 32$ in one step gives coarse, blobby masks. The FCN paper's remedy is to
# score the finer pool4 and pool3 maps too, upsample the coarse scores $\times 2$ (a learned
# transposed convolution, bilinear at the start), add them to the finer scores, and upsample
# the sum by only $\times 16$ (FCN-16s) or $\times 8$ (FCN-8s):

# %%
from transconv.viz import plot_fcn_skips, show

show(plot_fcn_skips())

# %% [markdown]
# The maps along the way for FCN-8s on a $320 \times 480$ image. The shapes come from running
# the model on PyTorch's `meta` device, which computes shapes without allocating or computing
# anything — so the 134-million-parameter network costs nothing here:

# %%
with torch.device("meta"):
    x = torch.empty(1, 3, 320, 480)
    for name, stage in vgg8.backbone.named_children():
        x = stage(x)
        print(f"{name:6s}", tuple(x.shape))
    print("conv7 ", tuple(vgg8.head(x).shape))
    print("output", tuple(vgg8(torch.empty(1, 3, 320, 480)).shape))

# %% tags=["remove-input"]
with torch.device("meta"):
    assert vgg8(torch.empty(1, 3, 320, 480)).shape == (1, 21, 320, 480)
assert round(sum(p.numel() for p in vgg8.parameters()) / 1e6) == 134

# %% [markdown]
# The skips cost almost nothing: conv6/conv7 (the paper's convolutionalised fc6/fc7) hold
# nearly all of the parameters, and the finer variants even *shrink* because their final
# upsampling kernel is smaller ($k = 16$ for $\times 8$ against $k = 64$ for $\times 32$). The
# **frozen** column counts the parameters that training leaves alone: the final upsampler,
# $21 \times 21 \times k^2$ weights (no bias) — $k = 64, 32, 16$ for 32s, 16s, 8s:


# %%
def count(module, frozen=False):
    return sum(p.numel() for p in module.parameters() if frozen != p.requires_grad)


table = []
with torch.device("meta"):
    for variant in ("32s", "16s", "8s"):
        model = fcn_vgg16(variant=variant)
        ups = sum(count(m) + count(m, True) for n, m in model.named_children() if "upscore" in n)
        parts = [model.backbone, model.head]
        table.append([f"FCN-{variant}", count(model) + count(model, True),
                      *[count(m) for m in parts], ups, count(model, frozen=True)])
Markdown(markdown_table(
    ["model", "parameters", "backbone", "conv6 + conv7", "upsamplers", "frozen"], table
))

# %% tags=["remove-input"]
totals = [row[1] for row in table]
assert all(row[3] > 0.85 * row[1] for row in table)  # conv6 + conv7: nearly all
assert totals[0] > totals[1] > totals[2]  # 32s > 16s > 8s
assert [row[5] for row in table] == [21 * 21 * kk**2 for kk in (64, 32, 16)]
with torch.device("meta"):
    for variant, row in zip(("32s", "16s", "8s"), table, strict=True):
        model = fcn_vgg16(variant=variant)
        assert row[5] == model.upscore.weight.numel() and model.upscore.bias is None

# %% [markdown]
# Unlike the paper, which pads the image by 100 pixels and crops each map into place, the
# transconv version pads every convolution "same" and passes `output_size=` to each
# transposed convolution, so every map lines up with no crop at all and any image of at least
# 32 pixels works:

# %%
with torch.device("meta"):
    for h, w in [(32, 32), (33, 47), (100, 77), (321, 479)]:
        print((h, w), "->", tuple(vgg8(torch.empty(1, 3, h, w)).shape))

# %% tags=["remove-input"]
with torch.device("meta"):
    for h, w in [(32, 32), (33, 47), (100, 77), (321, 479)]:
        assert vgg8(torch.empty(1, 3, h, w)).shape == (1, 21, h, w), (h, w)

# %% [markdown]
# Why `output_size=` suffices: max-pooling floors, so for $n$ rows in pool5, pool4 has $2n$ or
# $2n + 1$; and for $m$ rows in pool3 the image has $8m$ to $8m + 7$. Every upsampler above
# gives exactly $f n$ rows, so the missing rows number $0 \le a < f$ — the `output_padding`
# that `output_size=` chooses, which PyTorch allows because it is below the stride. It adds rows
# at the bottom and right, where the floor dropped them:

# %%
import torch.nn.functional as F

for rows_in, f, target in [(10, 2, 21), (7, 8, 63), (7, 8, 56)]:
    kf, sf, pf = upsampling_params(f)
    x = torch.zeros(1, 1, rows_in, 1)
    y = F.conv_transpose2d(x, torch.zeros(1, 1, kf, kf), stride=sf, padding=pf,
                           output_padding=(target - f * rows_in, 0))
    print(f"{rows_in} rows x{f} -> {y.shape[-2]} (output_padding {target - f * rows_in})")

# %% tags=["remove-input"]
for f in (2, 8, 16, 32):
    kf, sf, pf = upsampling_params(f)
    layer = nn.ConvTranspose2d(1, 1, kf, sf, pf, bias=False)
    for n in range(1, 12):
        for extra in range(f):
            assert conv_transpose_output_size(n, kf, sf, pf, output_padding=extra) == f * n + extra
    for n, extra in [(1, 0), (3, f - 1), (7, f // 2)]:  # PyTorch agrees, up to extra = f - 1
        out = layer(torch.zeros(1, 1, n, 1), output_size=(f * n + extra, f))
        assert out.shape[-2] == f * n + extra

# %% [markdown]
# ### `upsample="subpixel"`: the same model, computed another way
#
# Every builder takes `upsample="transposed"` (default) or `"subpixel"`. The second computes each
# transposed convolution as one stride-1 convolution and a pixel shuffle (see the
# [checkerboard](../checkerboard/) page); the parameters, their names and the outputs are the
# same. Checked on a narrow FCN-8s (`fc_channels=64`):

# %%
models = {}
for upsample in ("transposed", "subpixel"):
    torch.manual_seed(0)
    models[upsample] = fcn_vgg16(variant="8s", fc_channels=64, upsample=upsample).eval()
x = torch.rand(1, 3, 64, 96)
with torch.no_grad():
    a, b = (m(x) for m in models.values())
print("largest difference:", (a - b).abs().max().item())

# %% tags=["remove-input"]
assert models["transposed"].state_dict().keys() == models["subpixel"].state_dict().keys()
for key, value in models["transposed"].state_dict().items():
    assert torch.equal(value, models["subpixel"].state_dict()[key]), key
torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)

# %% [markdown]
# ## A learned decoder
#
# A third design replaces the fixed upsamplers with a decoder of five learned stride-2
# transposed convolutions ($k=3$, $s=2$, $p=1$, `output_padding=1`: exactly $\times 2$), each
# followed by ReLU and BatchNorm, with the encoder's pool4 … pool1 maps *added* on the way up
# (the decoder of the widely copied PyTorch port pochih/FCN-pytorch):

# %%
print(deconv.decoder.deconv1)
with torch.device("meta"):
    pools, x = {}, torch.empty(1, 3, 320, 480)
    for name, stage in deconv.backbone.named_children():
        x = pools[name] = stage(x)
    skips = ["pool4", "pool3", "pool2", "pool1", None]
    for (name, block), skip in zip(deconv.decoder.named_children(), skips, strict=True):
        x = block(x) + (pools[skip] if skip else 0)
        print(f"{name} -> {tuple(x.shape)}" + (f"  (+ {skip})" if skip else ""))
    print("classifier ->", tuple(deconv.classifier(x).shape))

# %% tags=["remove-input"]
with torch.device("meta"):
    x = torch.empty(1, 512, 10, 15)
    for block in deconv.decoder:
        layer = block.deconv
        assert (layer.kernel_size, layer.stride, layer.padding, layer.output_padding) == (
            (3, 3), (2, 2), (1, 1), (1, 1),
        )
        assert [type(m) for m in block] == [nn.ConvTranspose2d, nn.ReLU, nn.BatchNorm2d]
        before, x = x.shape[-2:], block(x)
        assert x.shape[-2:] == (2 * before[0], 2 * before[1])  # exactly x2
    assert x.shape[-2:] == (320, 480)

# %% [markdown]
# ### Why kernel 3, stride 2 — and what it costs
#
# The block mirrors the encoder. $k = 3$ is VGG's kernel size, and a $k = 3, s = 2, p = 1$
# *convolution* is the usual way to halve a feature map ($2n \to n$); the transposed
# convolution with the same parameters is its transpose (see the
# [matrix view](../matrix_view/)), which maps $n$ back to $2n - 1$ or $2n$, and
# `output_padding=1` picks $2n$. It is also the cheapest kernel with a centre tap whose stamps,
# 2 pixels apart, reach every output pixel ($k = 1$ leaves every other one empty): 9 weights per
# channel pair:

# %%
from transconv.shapes import conv_output_size

for n in (5, 10, 15):
    print(n * 2, "->", conv_output_size(2 * n, 3, stride=2, padding=1), "->",
          conv_transpose_output_size(n, 3, stride=2, padding=1, output_padding=1))

# %% tags=["remove-input"]
for n in (5, 10, 15):
    assert conv_output_size(2 * n, 3, stride=2, padding=1) == n
    assert conv_transpose_output_size(n, 3, stride=2, padding=1) == 2 * n - 1
    assert conv_transpose_output_size(n, 3, stride=2, padding=1, output_padding=1) == 2 * n
from transconv.overlap import overlap_counts

# k = 1 leaves the odd output pixels empty; k = 3 reaches every one
assert overlap_counts(6, 1, 2)[1::2].max() == 0 and overlap_counts(6, 3, 2).min() >= 1

# %% [markdown]
# But $3$ is not divisible by $2$: the [checkerboard](../checkerboard/) page's uneven overlap.
# Measured with the package, one such layer covers interior output pixels 1, 2 or 4 times
# (1 or 2 per direction), while $k = 4, s = 2, p = 1$ — which also doubles exactly, with no
# `output_padding` — covers every interior pixel 4 times:

# %%
from transconv.overlap import overlap_counts
from transconv.viz import plot_overlap

uneven, even = overlap_counts(6, 3, 2), overlap_counts(6, 4, 2)
show(plot_overlap([uneven, even], ["decoder now: k=3, s=2", "alternative: k=4, s=2"]))

# %% tags=["remove-input"]
assert set(uneven[2:-2, 2:-2].unique().tolist()) == {1, 2, 4}
assert set(even[2:-2, 2:-2].unique().tolist()) == {4}
for n in (5, 10, 15):
    assert conv_transpose_output_size(n, 4, stride=2, padding=1) == 2 * n

# %% [markdown]
# The five stacked blocks compound it (the same count through five layers, as on the
# checkerboard page), and nothing in PyTorch's default initialisation balances the phases: on a
# constant input, the four output phases $(o_y \bmod 2, o_x \bmod 2)$ of a fresh block sum
# different taps (here the last block, 64 → 32 channels). The $k = 4$ alternative costs $16/9$
# as many decoder weights:

# %%
from transconv.models.fcn import DeconvBlock

w = DeconvBlock(64, 32).deconv.weight.detach()  # (C_in, C_out, 3, 3), default init
phase = torch.stack([w[:, :, r::2, q::2].sum(dim=(0, 2, 3)) for r in (0, 1) for q in (0, 1)])
print("phase sums of output channel 0:", [round(v, 3) for v in phase[:, 0].tolist()])
ratio5 = []
for kernel in (3, 4):
    stacked = overlap_counts(10, kernel, 2, layers=5)
    margin = 2**5 * kernel  # away from every layer's border
    inside = stacked[margin:-margin, margin:-margin]
    ratio5.append((inside.max() / inside.min()).item())
print(f"5 stacked layers, max/min interior paths: k=3 {ratio5[0]:.0f}, k=4 {ratio5[1]:.0f}")

# %%
pairs = [(b.deconv.in_channels, b.deconv.out_channels) for b in deconv.decoder]
weights = {kernel: sum(i * o * kernel**2 for i, o in pairs) for kernel in (3, 4)}
print(f"decoder transposed-conv weights: k=3 {weights[3]:,}, k=4 {weights[4]:,}")

# %% tags=["remove-input"]
assert (phase.max(dim=0).values - phase.min(dim=0).values).min() > 0  # every output channel
assert ratio5[0] > 100 and ratio5[1] == 1.0
assert weights[4] * 9 == weights[3] * 16

# %% [markdown]
# A drop-in $k = 4$ block, for a reader who wants even overlap (the package keeps the $k = 3$
# decoder, whose trained weights can still learn to balance the phases; the
# [checkerboard](../checkerboard/) page shows that flatness is a property of the weights):

# %%
with torch.device("meta"):
    block4 = nn.Sequential(
        nn.ConvTranspose2d(512, 512, kernel_size=4, stride=2, padding=1),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(512),
    )
    pool5 = torch.empty(1, 512, 10, 15)
    print(block4[0], "->", tuple(block4(pool5).shape))

# %% tags=["remove-input"]
with torch.device("meta"):
    assert block4(pool5).shape == deconv.decoder.deconv1(pool5).shape == (1, 512, 20, 30)

# %% [markdown]
# ## Every model at a glance
#
# All builders take `num_classes` and `weights` (ImageNet weights for the backbone, `None` by
# default; the name is checked before anything is downloaded), and `build_model(name)` looks
# them up by the names the command line uses:

# %%
from transconv.models import MODELS, build_model

try:
    build_model("fcn_resnet18", weights="IMAGENET")
except ValueError as err:
    print("ValueError:", err)

# %% tags=["remove-input"]
import inspect

for name, builder in MODELS.items():
    params = inspect.signature(builder).parameters
    assert params["num_classes"].default == 21 and params["weights"].default is None, name
try:
    build_model("fcn_resnet18", weights="IMAGENET")
except ValueError:
    pass
else:
    raise AssertionError("an unknown weights name must fail before any download")

# %%
table = []
with torch.device("meta"):
    for name in MODELS:
        model = build_model(name, num_classes=21)
        out = model(torch.empty(1, 3, 321, 479)).shape
        table.append([f"`{name}`", count(model) + count(model, True), str(tuple(out))])
Markdown(markdown_table(["name", "parameters", "output for a 1x3x321x479 input"], table))

# %% [markdown]
# ## Exercises
#
# Solutions are computed and checked when the page is built.
#
# **1.** What is the receptive field of VGG-16's pool5 cells, and of FCN's conv6 (a $7 \times 7$
# convolution on pool5)? Use `receptive_field` and `main_path` on `vgg8.backbone`.

# %% tags=["solution"]
vgg_layers = main_path(vgg8.backbone)
r5, j5 = receptive_field(vgg_layers)
r6, _ = receptive_field([*vgg_layers, (7, 1)])
print(f"pool5: receptive field {r5}, jump {j5};  conv6: {r6}")
assert (r5, j5) == (212, 32) and r6 == r5 + 6 * 32 == 404

# %% [markdown]
# **2.** An image has 61 rows, so pool3 has $\lfloor 61/8 \rfloor = 7$. Which `output_padding`
# does FCN-8s's final $\times 8$ upsampler need, and is PyTorch allowed to use it?

# %% tags=["solution"]
k8, s8, p8 = upsampling_params(8)
extra = 61 - conv_transpose_output_size(7, k8, s8, p8)
print("output_padding", extra, "< stride", s8, ":", extra < s8)
assert extra == 5 and conv_transpose_output_size(7, k8, s8, p8, output_padding=extra) == 61
with torch.device("meta"):
    assert vgg8(torch.empty(1, 3, 61, 64)).shape[-2] == 61

# %% [markdown]
# **3.** How many parameters of FCN-16s does training update in its upsamplers, and how many does
# it leave frozen? Predict from the kernel sizes ($\times 2$: $k = 4$; $\times 16$: $k = 32$).

# %% tags=["solution"]
with torch.device("meta"):
    vgg16s = fcn_vgg16(variant="16s")
learned = count(vgg16s.upscore2_pool4)
frozen = count(vgg16s.upscore, frozen=True)
print(f"learned {learned:,} (upscore2_pool4), frozen {frozen:,} (upscore)")
assert learned == 21 * 21 * 4**2 and frozen == 21 * 21 * 32**2

# %% [markdown]
# **4.** Show that `upsampling_params(3)` ($k = 5, s = 3, p = 1$) triples a 4-cell row *and*
# centres each stamp on its block, though its overlap is uneven.

# %% tags=["solution"]
k3, s3, p3 = upsampling_params(3)
print((k3, s3, p3), conv_transpose_output_size(4, k3, s3, p3), stamp_centre(3, i=1, n=4))
assert conv_transpose_output_size(4, k3, s3, p3) == 12
assert stamp_centre(3, i=1, n=4) == 3 * 1 + 1  # block [3, 6), centre 4
assert k3 % s3 != 0  # uneven overlap, yet exact size and centre
