"""This repository's own course, as the tests reach it: through the public :class:`Course` value."""
from pathlib import Path

from autograder.course import Course

REPO = Path(__file__).resolve().parents[1]
COURSE = Course.at(REPO)
