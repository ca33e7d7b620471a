"""Figures on a phone: the build draws a phone layout of a wide figure and serves it to phones.

``sitebuild.kernel_prelude`` re-flows a figure's panels into rows that fit a phone's column
(cut from one rendering, so text keeps its drawn size); ``sitebuild.render`` serves that variant
in a ``<picture>`` and marks a figure that still can't shrink as scrolling, with a cue. The
390-px check of the built site is in ``tests/test_browser.py``.
"""

from __future__ import annotations

import base64
import io

import matplotlib
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from sitebuild import kernel_prelude
from sitebuild.kernel_prelude import (
    MIN_TEXT_PX,
    PHONE_COLUMN_PX,
    PHONE_MIME,
    TEXT_PX_KEY,
    phone_variant,
    tiles,
)
from sitebuild.render import Renderer
from transconv import viz
from transconv.overlap import overlap_counts

matplotlib.use("Agg")

PHOTO = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))


def seven_panels() -> Figure:
    return viz.show_images([PHOTO] * 7, [f"method {i}" for i in range(7)], ncols=4, scale=2.6)


def wide_plot() -> Figure:
    fig = Figure(figsize=(9, 2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(range(50))
    ax.set_title("one wide plot")
    return fig


def wide_heatmap() -> Figure:
    fig = Figure(figsize=(9, 2), dpi=100)
    fig.add_subplot().imshow(torch.rand(4, 30, generator=torch.Generator().manual_seed(0)).numpy())
    return fig


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def shown_width(fig: Figure) -> int:
    """Width of the PNG a page shows for ``fig`` (its dpi, tight box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    return png_size(buffer.getvalue())[0]


def test_a_wide_grid_of_panels_gets_a_phone_layout_whose_text_stays_10_px() -> None:
    fig = seven_panels()
    text_px, phone = phone_variant(fig)
    assert text_px * PHONE_COLUMN_PX / shown_width(fig) < MIN_TEXT_PX  # shrinking would fail
    assert phone is not None
    width, height = png_size(phone)
    shown_text = text_px * min(1.0, PHONE_COLUMN_PX / width)
    assert shown_text >= MIN_TEXT_PX, f"{width}-px phone layout shows text at {shown_text:.1f} px"
    assert height > fig.get_size_inches()[1] * fig.dpi  # panels moved into more rows


def test_the_phone_layout_keeps_every_panel() -> None:
    fig = viz.plot_overlap(
        [overlap_counts(3, 3, 2, layers=n) for n in (1, 2, 3)], ["one", "two", "three"]
    )
    _, phone = phone_variant(fig)
    width, height = png_size(phone)
    axes_px = [ax.get_window_extent() for ax in fig.get_axes()]
    # three panels stacked: the layout is at least as tall as the panels, one above the other
    panels = [e for e in axes_px if e.width > 50]
    assert len(panels) == 3
    assert height >= sum(e.height for e in panels)
    assert width >= max(e.width for e in panels)


@pytest.mark.parametrize(
    "make",
    [
        lambda: viz.show_images([PHOTO[:, :16, :16]], ["small"]),
        wide_heatmap,
    ],
    ids=["fits a phone", "one wide image"],
)
def test_no_phone_layout_when_it_fits_or_has_nothing_to_reflow(make) -> None:
    text_px, phone = phone_variant(make())
    assert phone is None and text_px >= MIN_TEXT_PX


def test_a_lone_wide_plot_is_drawn_narrower_with_its_text_as_drawn() -> None:
    fig = wide_plot()
    text_px, phone = phone_variant(fig)
    width = png_size(phone)[0]
    assert width < shown_width(fig) and text_px * min(1, PHONE_COLUMN_PX / width) >= MIN_TEXT_PX
    assert tuple(fig.get_size_inches()) == (9, 2)  # the figure itself is left as it was


def test_tiles_never_cut_through_a_panel() -> None:
    boxes = [[10, 10, 90, 90], [110, 10, 190, 90], [60, 95, 150, 130]]
    rows = tiles(boxes, margin=2)
    assert len(rows) == 2 and len(rows[0]) == 2  # the third box spans both columns: its own row
    for box in boxes:
        inside = [
            t for row in rows for t in row if t[0] <= box[0] and t[2] >= box[2] and t[1] <= box[1]
        ]
        assert inside, f"{box} is cut apart"


def test_a_colorbar_stays_in_the_tile_of_its_axes() -> None:
    fig = Figure(figsize=(9, 3), dpi=100)
    left, right = fig.subplots(1, 2, gridspec_kw={"wspace": 0.8})
    left.imshow([[0, 1], [2, 3]])
    fig.colorbar(right.imshow([[0, 1], [2, 3]]), ax=right, pad=0.3)
    _, boxes, _ = kernel_prelude._draw(fig)
    (row,) = tiles(boxes)
    assert len(row) == 2, f"the colorbar was cut away from its axes: {row}"


def in_kernel(make) -> tuple[dict, dict]:
    """The display data and metadata the build's kernel publishes for what ``make`` returns."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        namespace: dict = {}
        source = open(kernel_prelude.__file__).read()
        exec(compile(source, kernel_prelude.__file__, "exec"), namespace)
        namespace["show_figures"]()
        return shell.display_formatter.format(make())
    finally:
        InteractiveShell.clear_instance()  # later tests run outside IPython again


@pytest.mark.parametrize(
    "make", [seven_panels, lambda: viz.show(seven_panels())], ids=["figure", "show(figure)"]
)
def test_the_kernel_publishes_the_phone_layout_with_the_figure(make) -> None:
    data, metadata = in_kernel(make)
    assert "text/html" in data and PHONE_MIME in data
    assert png_size(base64.b64decode(data[PHONE_MIME]))[0] < 700
    assert metadata[TEXT_PX_KEY] >= MIN_TEXT_PX


def html_output(width: int, phone: bytes | None, text_px: float | None) -> dict:
    png = base64.b64encode(fake_png(width)).decode()
    data = {"text/html": f'<img src="data:image/png;base64,{png}" alt="Seven panels" width="1">'}
    if phone:
        data[PHONE_MIME] = base64.b64encode(phone).decode()
    return {
        "output_type": "display_data",
        "data": data,
        "metadata": {TEXT_PX_KEY: text_px} if text_px else {},
    }


def fake_png(width: int, height: int = 10) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="png")
    return buffer.getvalue()


def test_render_serves_the_phone_layout_in_a_picture_keeping_the_alt_text() -> None:
    renderer = Renderer("page", translate=lambda text: f"«{text}»")
    markup = renderer.rich(html_output(1040, fake_png(300), 16.0))
    assert '<source media="(max-width: 44.9375em)" srcset="figure-01-phone.png"' in markup
    assert 'width="300" height="10"' in markup
    assert '<img data-text-px="16.0" src="figure-01.png" alt="«Seven panels»"' in markup
    assert "nb-scroll" not in markup
    assert set(renderer.assets) == {"page/figure-01.png", "page/figure-01-phone.png"}
    renderer.rich(html_output(200, None, 12.0))
    assert "page/figure-02.png" in renderer.assets  # the phone file takes no figure number


@pytest.mark.parametrize(
    ("width", "text_px", "scrolls"),
    [(300, None, False), (600, 20.0, False), (600, 11.0, True), (600, None, True)],
)
def test_render_marks_figures_that_must_scroll_on_a_phone(width, text_px, scrolls) -> None:
    markup = Renderer("page", lang="zh").rich(html_output(width, None, text_px))
    assert ("nb-scroll" in markup) == scrolls
    assert ("左右滑动查看整幅图" in markup) == scrolls


def test_png_outputs_that_must_scroll_get_the_cue_too() -> None:
    output = {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(fake_png(800)).decode()},
        "metadata": {"image/png": {"alt": "A wide plot"}, TEXT_PX_KEY: 11.0},
    }
    markup = Renderer("page").rich(output)
    assert 'class="nb-output nb-html nb-scroll"' in markup
    assert '<img data-text-px="11.0" src="figure-01.png" alt="A wide plot"' in markup
    assert "Scroll sideways" in markup
