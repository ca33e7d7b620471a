# %% [markdown]
# # Animations
#
# Dumoulin and Visin's *A guide to convolution arithmetic for deep learning* (2016) made
# convolutions visible with small animations: a blue input grid, a shaded kernel sliding over
# it, a cyan output grid filling up. Every animation on this page is drawn while the site is
# built, by public functions of `transconv.viz`, for any kernel size, stride, padding, output
# padding and dilation — so you can make your own (last section).
#
# Each GIF of `animate_convolution` has one frame per output pixel. Dashed pale cells are
# zeros: padding, or — for a transposed convolution — the zeros inserted between input pixels.

# %% [markdown]
# ## Scatter and gather: one operation
#
# A transposed convolution can be read two ways. The **scatter** view: each input pixel
# stamps its scaled copy of the kernel into the output and overlapping stamps are summed (the
# [first page](../transposed_convolution/)). The **gather** view: insert $s - 1$ zeros
# between input pixels, pad with $k - 1 - p$ zeros, and slide the kernel, flipped in both
# directions, over the result as an ordinary stride-1 convolution. The animation below
# computes each output pixel both ways for $k = 3$, $s = 2$, $p = 1$: on top the input
# pixels whose stamps reach it, below the flipped kernel's window on the zero-inserted input;
# the caption writes the products, the same ones in both views.

# %%
import torch
from torch.nn import functional as F

from transconv.overlap import scatter_stamps, zero_insert

x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
kernel = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
batch = (None, None)  # add batch and channel dimensions
expected = F.conv_transpose2d(x[batch], kernel[batch], stride=2, padding=1)[0, 0]
scattered = scatter_stamps(x, kernel, stride=2, padding=1).sum(dim=(0, 1))
zeros_in = zero_insert(x, 3, stride=2, padding=1)
gathered = F.conv2d(zeros_in[batch], kernel.flip(0, 1)[batch])[0, 0]
print("zero-inserted input", tuple(zeros_in.shape), "-> output", tuple(expected.shape))

# %% tags=["remove-input"]
torch.testing.assert_close(scattered, expected)
torch.testing.assert_close(gathered, expected)
assert zeros_in.shape == (2 + 1 + 2 * (3 - 1 - 1),) * 2  # 1 zero inserted, 1 padded

# %%
from transconv.viz import animate_scatter_gather

animate_scatter_gather(x, kernel, stride=2, padding=1)

# %% [markdown]
# The rest of the page draws the gather view alone, conv_arithmetic style. A small helper
# (plumbing, its code hidden) checks each animation against PyTorch: it runs the real operator
# on a zero tensor and asserts that the GIF has exactly one frame per pixel of PyTorch's output.

# %% tags=["remove-input"]
import io

from PIL import Image


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """``(v, v)`` for an int, the pair itself otherwise."""
    return (value, value) if isinstance(value, int) else tuple(value)


def check_frames(gif: bytes, size, k, options: dict) -> None:
    """Assert one frame per output pixel of PyTorch's operator; describe the call."""
    options = dict(options)
    op = F.conv_transpose2d if options.pop("transposed", False) else F.conv2d
    out = op(torch.zeros(1, 1, *pair(size)), torch.zeros(1, 1, *pair(k)), **options)
    frames = Image.open(io.BytesIO(gif)).n_frames
    assert frames == out.shape[-2] * out.shape[-1], (frames, out.shape)
    args = "".join(f", {key}={value}" for key, value in options.items())
    print(f"{op.__name__}: input {pair(size)}, kernel_size={k}{args}")
    size_kb = len(gif) // 1024
    print(f"    -> output {tuple(out.shape[-2:])}: {frames} frames, {size_kb} KB")


def padding_drawn(size, k, **options) -> tuple[int, int]:
    """Zeros drawn around the input of a transposed convolution (top-left corner)."""
    grid = zero_insert(torch.ones(pair(size)), k, **options)
    rows, cols = torch.nonzero(grid, as_tuple=True)
    return int(rows.min()), int(cols.min())

# %% [markdown]
# A second one draws several configurations side by side (each GIF carries its alt text):

# %%
from IPython.display import HTML

from transconv.viz import animate_convolution


def animate_row(*configs: dict) -> HTML:
    """Animate each configuration, check it against PyTorch, show them in one row."""
    cells = []
    for config in configs:
        options = dict(config)
        size, k = options.pop("input_size"), options.pop("kernel_size")
        gif = animate_convolution(size, k, **options)
        check_frames(gif, size, k, options)
        cells.append(gif._repr_html_())
    row = '<div style="display:flex;flex-wrap:wrap;gap:1em;align-items:flex-end">'
    return HTML(row + "".join(cells) + "</div>")

# %% [markdown]
# ## No padding, unit stride
#
# Left: a $3 \times 3$ kernel over a $4 \times 4$ input gives $2 \times 2$. Right: the
# transposed convolution goes back from $2 \times 2$ to $4 \times 4$. Drawn as a direct
# convolution, it pads the input with $k - 1 = 2$ zeros on every side, so every input pixel
# reaches every output pixel it touches in the forward direction.

# %% tags=["remove-input"]
from transconv.shapes import conv_output_size

assert conv_output_size(4, 3) == 2 and padding_drawn(2, 3) == (2, 2)

# %%
animate_row(dict(input_size=4, kernel_size=3),
            dict(input_size=2, kernel_size=3, transposed=True))

# %% [markdown]
# ## Padding
#
# With padding $p = 1$ a $3 \times 3$ kernel keeps the size ("same" padding). For the
# transposed convolution, padding works the other way round: it *removes* $p$ rows and
# columns from each side of the full output, which the drawing shows as $k - 1 - p = 1$ zero
# of padding instead of 2.

# %% tags=["remove-input"]
assert conv_output_size(5, 3, padding=1) == 5
assert padding_drawn(5, 3, padding=1) == (1, 1)

# %%
animate_row(dict(input_size=5, kernel_size=3, padding=1),
            dict(input_size=5, kernel_size=3, padding=1, transposed=True))

# %% [markdown]
# ## Strides
#
# A stride-2 convolution with padding 1 skips every other position: $5 \times 5 \to 3 \times 3$
# (without padding it would give $2 \times 2$). Its
# transposed convolution turns $3 \times 3$ back into $5 \times 5$ by inserting $s - 1 = 1$
# zero between input pixels and sliding a stride-**1** kernel over the result — this is
# why it is also called a *fractionally strided* convolution (the other names are on
# [Transposed convolution](../transposed_convolution/#two-other-names)).

# %% tags=["remove-input"]
inserted = zero_insert(torch.ones(3, 3), 3, stride=2, padding=1)
assert conv_output_size(5, 3, stride=2, padding=1) == 3
assert conv_output_size(5, 3, stride=2) == 2
assert inserted[1, 1:6].tolist() == [1, 0, 1, 0, 1]  # one zero between neighbours

# %%
animate_row(dict(input_size=5, kernel_size=3, stride=2, padding=1),
            dict(input_size=3, kernel_size=3, stride=2, padding=1, transposed=True))

# %% [markdown]
# ## Output padding
#
# A stride-2 convolution maps both $5 \times 5$ and $6 \times 6$ inputs to $3 \times 3$, so
# its transposed convolution cannot know which size to restore. `output_padding` picks: it
# adds rows and columns at the bottom and right. `output_padding_for` computes the value that
# hits a target size:

# %% tags=["remove-input"]
assert [conv_output_size(n, 3, stride=2, padding=1) for n in (5, 6)] == [3, 3]

# %%
from transconv.shapes import output_padding_for

op = output_padding_for(3, target=6, kernel_size=3, stride=2, padding=1)
print("output_padding for 3 -> 6 (k=3, s=2, p=1):", op)
animate_row(dict(input_size=6, kernel_size=3, stride=2, padding=1),
            dict(input_size=3, kernel_size=3, stride=2, padding=1, output_padding=op,
                 transposed=True))

# %% [markdown]
# ## Dilation
#
# Dilation $d$ spreads the kernel taps $d$ pixels apart: a $3 \times 3$ kernel with $d = 2$
# covers a $5 \times 5$ window, so $7 \times 7 \to 3 \times 3$. The transposed convolution
# uses the same dilated kernel over an input padded by $d(k - 1) = 4$:

# %% tags=["remove-input"]
assert conv_output_size(7, 3, dilation=2) == 3
assert padding_drawn(3, 3, dilation=2) == (4, 4)

# %%
animate_row(dict(input_size=7, kernel_size=3, dilation=2),
            dict(input_size=3, kernel_size=3, dilation=2, transposed=True))

# %% [markdown]
# ## Make your own
#
# `animate_convolution` takes ints or `(height, width)` pairs and returns the GIF (bytes that
# a notebook shows as an image with its alt text), or writes a file when given `path=`;
# `animate_scatter` and `animate_scatter_gather` take an input and a kernel tensor.
# Arguments PyTorch would reject are rejected with the rule they break. Copy this cell and
# change the numbers:

# %%
import tempfile
from pathlib import Path

from transconv.viz import alt_text, animate_convolution

path = Path(tempfile.mkdtemp()) / "my_transposed_conv.gif"
animate_convolution((2, 3), (3, 2), stride=(2, 1), padding=(1, 0), transposed=True,
                    path=path, fps=3)
print(path.name, path.stat().st_size, "bytes")
print("alt text:", alt_text(path))

# %% [markdown]
# Here it is, through the helper above (which also checks it against PyTorch):

# %%
animate_row(dict(input_size=(2, 3), kernel_size=(3, 2), stride=(2, 1), padding=(1, 0),
                 transposed=True))

# %% [markdown]
# And what happens with an illegal combination, here an `output_padding` as large as the
# stride:

# %%
try:
    animate_convolution(3, 3, stride=2, output_padding=2, transposed=True)
except ValueError as error:
    print("ValueError:", error)

# %% tags=["remove-input"]
try:
    animate_convolution(3, 3, stride=2, output_padding=2, transposed=True)
except ValueError:
    pass
else:
    raise AssertionError("output_padding as large as the stride was accepted")
