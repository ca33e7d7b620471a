"""Small seeded networks and batches shared by the trainer, checkpoint and tiling tests."""

import torch
from torch import nn


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def tiny_fcn(num_classes=4, seed=0):
    """A small FCN (conv stride 2, 1x1 score, transposed conv x2) with seeded weights."""
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, num_classes, 1),
        nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1),
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen(seed)) * 0.3)
    return net


def batches(n=3, b=2, size=(8, 12), num_classes=4, seed=0):
    g = gen(seed)
    out = []
    for _ in range(n):
        Y = torch.randint(0, num_classes, (b, *size), generator=g)
        Y[:, 0, :] = 255
        out.append((torch.randn(b, 3, *size, generator=g), Y))
    return out
