"""Tests of the shared input checks in course_utils._validation."""
import numpy as np
import pytest

from course_utils import _validation as v


def test_as_array_converts_and_rejects_ragged():
    assert isinstance(v.as_array([1, 2], "x"), np.ndarray)
    with pytest.raises(TypeError, match="x must be a"):
        v.as_array([[1, 2], [3]], "x")


def test_shape_and_ndim_messages():
    with pytest.raises(ValueError, match=r"x must be a 4-D array laid out as \(N, C, H, W\); got shape \(2, 3\)"):
        v.check_ndim(np.zeros((2, 3)), 4, "x", "(N, C, H, W)")
    with pytest.raises(ValueError, match=r"w must have shape \(any, 3\).*axis 1 differs"):
        v.check_shape(np.zeros((2, 4)), (None, 3), "w")
    v.check_shape(np.zeros((5, 3)), (None, 3), "w")


def test_dtype_and_int_checks():
    with pytest.raises(TypeError, match="floating point dtype; got int64"):
        v.check_dtype_kind(np.zeros(3, dtype=np.int64), "f", "x")
    assert v.check_positive_int(np.int32(3), "n") == 3
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            v.check_positive_int(bad, "n")
