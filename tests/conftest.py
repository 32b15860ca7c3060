"""Shared pytest configuration: a non-interactive matplotlib backend and the quick budget."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_QUICK", "1")
