"""CPU data loading for FCN training: images per second per core, and memory held.

Three ways to feed random 320x480 crops of VOC-format data to a ``DataLoader`` on one core
(``num_workers=0``, one torch thread), each measured in a fresh process so that its resident
memory is its own. Speed is images per CPU-second of that process after one warm-up epoch
(robust on a shared machine; wall-clock rates are printed beside it):

* ``decode``: [`VOCSegDataset`][transconv.data.dataset.VOCSegDataset] with ``cache=False``,
  the package's old path: every item decodes its JPEG and label PNG again, every epoch;
* ``uint8_item``: ``VOCSegDataset`` with ``cache=True`` (the default): decoded once, held as
  ``uint8``, cropped and normalised per item;
* ``uint8``: the same dataset with ``as_uint8=True`` and ``collate_fn=collate_normalize``
  (what ``load_data_voc`` builds): ``uint8`` crops, stacked, normalised per batch;
* ``d2l``: d2l.ai's ``VOCSegDataset``: normalised ``float32`` images and RGB label images held
  in memory, labels mapped through the 128 MiB colour table per item.

The data is [`make_synthetic_voc`][transconv.data.synthetic.make_synthetic_voc] in a temporary
folder (default 200 images of 352x512). Run::

    PYTHONPATH=. python benchmarks/loader_throughput.py [--images 200] [--epochs 2]

It prints a table and the ratios, and writes JSON with ``--out FILE``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("decode", "uint8_item", "uint8", "d2l")


def resident_bytes() -> int:
    """This process's resident set size (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status; this benchmark needs Linux")


def d2l_dataset(voc_dir: Path, crop: tuple[int, int]):
    """d2l.ai's ``VOCSegDataset`` (chapter 14.9), with the package's readers."""
    import torch
    import torchvision
    from torchvision.transforms.functional import crop as crop_image

    from transconv.data import read_voc_images, voc_colormap2label, voc_label_indices

    class D2LVOCSegDataset(torch.utils.data.Dataset):
        def __init__(self) -> None:
            self.transform = torchvision.transforms.Normalize(
                mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]
            )
            self.crop_size = crop
            features, labels = read_voc_images(voc_dir, is_train=True)
            self.features = [self.transform(f.float() / 255) for f in self.filter(features)]
            self.labels = self.filter(labels)
            self.colormap2label = voc_colormap2label()

        def filter(self, imgs):
            return [
                img
                for img in imgs
                if img.shape[1] >= self.crop_size[0] and img.shape[2] >= self.crop_size[1]
            ]

        def __getitem__(self, idx):
            rect = torchvision.transforms.RandomCrop.get_params(self.features[idx], self.crop_size)
            feature = crop_image(self.features[idx], *rect)
            label = crop_image(self.labels[idx], *rect)
            return feature, voc_label_indices(label, self.colormap2label)

        def __len__(self):
            return len(self.features)

    dataset = D2LVOCSegDataset()
    held = sum(t.nbytes for t in dataset.features + dataset.labels)
    return dataset, held + dataset.colormap2label.nbytes


def build(variant: str, voc_dir: Path, crop: tuple[int, int]):
    """The dataset of ``variant`` and the bytes its tensors hold."""
    from transconv.data import VOCSegDataset

    if variant == "d2l":
        return d2l_dataset(voc_dir, crop)
    cache, as_uint8 = variant != "decode", variant == "uint8"
    dataset = VOCSegDataset(
        True, crop, voc_dir, seed=0, cache=cache, as_uint8=as_uint8, verbose=False
    )
    return dataset, sum(t.nbytes for t in dataset.images + dataset.labels)


def measure(variant: str, voc_dir: Path, crop: tuple[int, int], batch: int, epochs: int) -> dict:
    """Build ``variant``'s loader in this process and time ``epochs`` epochs on one core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _measure(variant, voc_dir, crop, batch, epochs)
    finally:
        torch.set_num_threads(threads)


def _measure(variant: str, voc_dir: Path, crop: tuple[int, int], batch: int, epochs: int) -> dict:
    import torch
    import torchvision.transforms.functional  # noqa: F401 - imported before the baseline
    from torch.utils.data import DataLoader

    from transconv.data import collate_normalize

    gc.collect()
    before = resident_bytes()
    start = time.perf_counter()
    dataset, held = build(variant, voc_dir, crop)
    build_s = time.perf_counter() - start
    gc.collect()
    resident = resident_bytes() - before
    collate = {"collate_fn": collate_normalize} if variant == "uint8" else {}
    loader = DataLoader(dataset, batch, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0), **collate)  # fmt: skip
    for _ in loader:  # a warm-up epoch: first-touch page faults, allocator caches
        pass
    images, start, cpu_start = 0, time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        for x, _ in loader:
            images += x.shape[0]
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "variant": variant,
        "img_per_s_per_core": images / cpu_seconds,  # one thread: CPU time is one core's
        "img_per_s_wall": images / seconds,
        "images": images,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "build_seconds": build_s,
        "held_bytes": held,
        "resident_bytes": resident,
        "examples": len(dataset),
    }


def run_variant(variant: str, args: argparse.Namespace, voc_dir: Path) -> dict:
    """``measure`` in a fresh Python process, so resident memory is the variant's own."""
    command = [sys.executable, __file__, "--variant", variant, "--voc-dir", str(voc_dir),
               "--crop", *map(str, args.crop), "--batch-size", str(args.batch_size),
               "--epochs", str(args.epochs)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"variant {variant} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict[str, dict]) -> str:
    """The table and the ratios, as printed."""
    mib = 2**20
    lines = [
        f"{'variant':10} {'img/s/core':>11} {'img/s wall':>11} {'held MiB':>9} {'RSS MiB':>8} "
        f"{'build s':>8}"
    ]
    for name, r in results.items():
        lines.append(
            f"{name:10} {r['img_per_s_per_core']:11.1f} {r['img_per_s_wall']:11.1f} "
            f"{r['held_bytes'] / mib:9.1f} "
            f"{r['resident_bytes'] / mib:8.1f} {r['build_seconds']:8.2f}"
        )
    speed = {k: r["img_per_s_per_core"] for k, r in results.items()}
    held = {k: r["held_bytes"] for k, r in results.items()}
    lines += [
        f"uint8 / decode speed: {speed['uint8'] / speed['decode']:.2f}x",
        f"uint8 / uint8_item speed: {speed['uint8'] / speed['uint8_item']:.2f}x",
        f"uint8 / d2l speed:    {speed['uint8'] / speed['d2l']:.2f}x",
        f"uint8 / d2l memory held: {held['uint8'] / held['d2l']:.3f} "
        f"(images and labels only: {results['uint8']['held_bytes'] / mib:.1f} MiB against "
        f"{(held['d2l'] - 2**24 * 8) / mib:.1f} MiB + the 128 MiB colour table)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, nargs=2, default=[352, 512])
    parser.add_argument("--crop", type=int, nargs=2, default=[320, 480])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="measure every variant in this process (quick; resident memory then mixes them)",
    )
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--voc-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:  # a child process: measure one variant, print one JSON line
        result = measure(args.variant, args.voc_dir, tuple(args.crop), args.batch_size,
                         args.epochs)  # fmt: skip
        print(json.dumps(result))
        return result
    from transconv.data import make_synthetic_voc

    with tempfile.TemporaryDirectory() as tmp:
        voc_dir = make_synthetic_voc(tmp, args.images, 1, size=tuple(args.size), progress=True)
        if args.same_process:
            crop, batch = tuple(args.crop), args.batch_size
            results = {v: measure(v, voc_dir, crop, batch, args.epochs) for v in VARIANTS}
        else:
            results = {v: run_variant(v, args, voc_dir) for v in VARIANTS}
    print(report(results))
    saved = {
        "results": results,
        "config": {k: v for k, v in vars(args).items() if k not in ("variant", "voc_dir", "out")},
        "note": "speed: images per CPU-second of one single-threaded process, after a warm-up "
        "epoch; resident_bytes: RSS growth while building the dataset",
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "system": platform.platform(),
        },  # fmt: skip
    }
    if args.out:
        args.out.write_text(json.dumps(saved, indent=1))
    return saved


if __name__ == "__main__":
    main()
