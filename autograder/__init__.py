"""Instructor side of the course package: the ``course`` command and grading."""
