"""Writing GIFs fast and small: blit the moving artists, one palette, the alt text inside."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.animation import PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from transconv.viz.display import Gif


class GifWriter(PillowWriter):
    """PillowWriter that redraws only the moving artists per frame and shares one palette.

    ``PillowWriter.grab_frame`` re-renders the whole figure, text included, for every
    frame. Here the static parts (texts, panel layout) are drawn once; each frame restores
    that background and draws only the ``animated`` artists (blitting). ``finish`` quantises
    every frame to one palette (with per-frame palettes unchanged pixels change colour, so the
    GIF would store every frame whole instead of the changed rectangle) and stores ``comment``
    (the alt text) in the file.
    """

    def __init__(self, animated: Sequence[Any], fps: float, comment: str) -> None:
        super().__init__(fps=fps)
        self._animated = list(animated)
        self._comment = comment

    def setup(self, fig: Figure, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi=dpi)
        fig.set_dpi(self.dpi)
        canvas = FigureCanvasAgg(fig)
        for artist in self._animated:
            artist.set_animated(True)
        canvas.draw()
        self._background = canvas.copy_from_bbox(fig.bbox)

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        from PIL import Image

        canvas = self.fig.canvas
        canvas.restore_region(self._background)
        for artist in self._animated:
            self.fig.draw_artist(artist)
        frame = Image.frombuffer(
            "RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        )
        self._frames.append(frame.convert("RGB"))

    def finish(self) -> None:
        from PIL import Image

        # the palette comes from up to 12 frames spread over the animation (first and last
        # included), so colours that appear only in the middle keep their hue
        picks = sorted({round(i * (len(self._frames) - 1) / 11) for i in range(12)})
        first = self._frames[0]
        montage = Image.new("RGB", (first.width, first.height * len(picks)))
        for row, index in enumerate(picks):
            montage.paste(self._frames[index], (0, first.height * row))
        palette = montage.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        frames = [
            frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in self._frames
        ]
        frames[0].save(
            self.outfile,
            save_all=True,
            append_images=frames[1:],
            duration=int(1000 / self.fps),
            loop=0,
            comment=self._comment.encode("utf-8"),
        )


def write_gif(
    fig: Figure,
    animated: Sequence[Any],
    draw_frames: Callable[[GifWriter], None],
    *,
    alt: str,
    fps: float,
    path: str | Path | None,
) -> Gif | Path:
    """Write the frames that ``draw_frames`` grabs to ``path``, or return them as a Gif."""
    writer = GifWriter(animated, fps=fps, comment=alt)
    if path is None:
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "animation.gif"
            with writer.saving(fig, str(target), dpi=fig.dpi):
                draw_frames(writer)
            return Gif(target.read_bytes(), alt)
    target = Path(path)
    with writer.saving(fig, str(target), dpi=fig.dpi):
        draw_frames(writer)
    return target
