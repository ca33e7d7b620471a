"""transconv: transposed convolution and fully convolutional networks."""

__version__ = "0.1.0"
__all__: list[str] = []
