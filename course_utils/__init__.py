"""Student-side library for the course notebooks.

Modules
-------
data             load the embedded synthetic dataset or CIFAR-10, download CIFAR-10
preprocessing    train/val/test/dev split, mean image, bias trick, NCHW layout
gradient_check   numeric gradients and relative error
fast_layers      im2col convolution and max pooling (forward and backward)
notebook_loader  reuse the definitions of another notebook of the same assignment
vis              image grids, curves, weight templates and filters
budget           the COURSE_QUICK training budget switch

This package never contains a solution to an exercise.
"""

__version__ = "0.1.0"
