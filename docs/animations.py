# %% [markdown]
# # Animations
#
# Dumoulin and Visin's *A guide to convolution arithmetic for deep learning* (2016) made
# convolutions visible with small animations: a blue input grid, a shaded kernel sliding over
# it, a cyan output grid filling up. Every animation on this page is drawn while the site is
# built, by one public function, `transconv.viz.animate_convolution`, for any kernel size,
# stride, padding, output padding and dilation — so you can make your own (last section).
#
# Each GIF has one frame per output pixel. Dashed pale cells are zeros: padding, or — for a
# transposed convolution — the zeros inserted between input pixels.

# %%
import base64
import io

import torch
from IPython.display import HTML
from PIL import Image
from torch.nn import functional as F

from transconv.shapes import output_padding_for
from transconv.viz import animate_convolution

# %% [markdown]
# A small helper checks each animation against PyTorch: it runs the real operator on a zero
# tensor and asserts that the GIF has exactly one frame per pixel of PyTorch's output.

# %%
def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """``(v, v)`` for an int, the pair itself otherwise."""
    return (value, value) if isinstance(value, int) else tuple(value)


def check_frames(gif: bytes, size, k, options: dict) -> str:
    """Assert one frame per output pixel of the PyTorch operator; describe the call."""
    options = dict(options)
    op = F.conv_transpose2d if options.pop("transposed", False) else F.conv2d
    out = op(torch.zeros(1, 1, *pair(size)), torch.zeros(1, 1, *pair(k)), **options)
    frames = Image.open(io.BytesIO(gif)).n_frames
    assert frames == out.shape[-2] * out.shape[-1], (frames, out.shape)
    args = "".join(f", {key}={value}" for key, value in options.items())
    print(f"{op.__name__}: input {pair(size)}, kernel_size={k}{args}")
    size_kb = len(gif) // 1024
    print(f"    -> output {tuple(out.shape[-2:])}: {frames} frames, {size_kb} KB")
    return f"{op.__name__} kernel_size={k}{args}"

# %% [markdown]
# A second one draws several configurations side by side:

# %%
def animate_row(*configs: dict) -> HTML:
    """Animate each configuration, check it against PyTorch, show them in one row."""
    cells = []
    for config in configs:
        options = dict(config)
        size, k = options.pop("input_size"), options.pop("kernel_size")
        gif = animate_convolution(size, k, **options)
        alt = check_frames(gif, size, k, options)
        data = base64.b64encode(gif).decode()
        cells.append(f'<img src="data:image/gif;base64,{data}" alt="{alt}">')
    row = '<div style="display:flex;flex-wrap:wrap;gap:1em;align-items:flex-end">'
    return HTML(row + "".join(cells) + "</div>")

# %% [markdown]
# ## No padding, unit stride
#
# Left: a $3 \times 3$ kernel over a $4 \times 4$ input gives $2 \times 2$. Right: the
# transposed convolution goes back from $2 \times 2$ to $4 \times 4$. Drawn as a direct
# convolution, it pads the input with $k - 1 = 2$ zeros on every side, so every input pixel
# reaches every output pixel it touches in the forward direction.

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

# %%
animate_row(dict(input_size=5, kernel_size=3, padding=1),
            dict(input_size=5, kernel_size=3, padding=1, transposed=True))

# %% [markdown]
# ## Strides
#
# A stride-2 convolution skips every other position: $5 \times 5 \to 3 \times 3$. Its
# transposed convolution turns $3 \times 3$ back into $5 \times 5$ by inserting $s - 1 = 1$
# zero between input pixels and sliding a stride-**1** kernel over the result — this is
# why it is also called a *fractionally strided* convolution.

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

# %%
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

# %%
animate_row(dict(input_size=7, kernel_size=3, dilation=2),
            dict(input_size=3, kernel_size=3, dilation=2, transposed=True))

# %% [markdown]
# ## Make your own
#
# `animate_convolution` takes ints or `(height, width)` pairs and returns the GIF bytes, or
# writes a file when given `path=`. Arguments PyTorch would reject are rejected with the
# rule they break. Copy this cell and change the numbers:

# %%
import tempfile
from pathlib import Path

from transconv.viz import animate_convolution

path = Path(tempfile.mkdtemp()) / "my_transposed_conv.gif"
animate_convolution((2, 3), (3, 2), stride=(2, 1), padding=(1, 0), transposed=True,
                    path=path, fps=3)
print(path.name, path.stat().st_size, "bytes")

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
