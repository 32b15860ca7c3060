"""Spec file of the one-function toy assignment that the grader's own tests grade (tests/test_grading.py).

``toy_course.make_repo`` copies it beside the toy notebook as ``01_toy.specs.py``.
"""
from autograder.specs import Case, Spec


def _cases(rng):
    yield Case("typical", (rng.normal(size=(4, 3)),))
    yield Case("one row", (rng.normal(size=(1, 5)),))


SPECS = [Spec("toy_row_sums", cases=_cases, outputs=("sums",), vectorised=True)]
