"""nbgrader configuration of the course, read by `nbgrader` and by `course` from this folder.

The source (`solutions/`) and release (`assignments/`) folders sit at the repository root. The
working folders of a grading run (submitted, autograded, feedback) and the gradebook live under
the course root: `course_root/` here (git-ignored), or the folder named by `COURSE_ROOT`.
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (nbgrader provides get_config)

repo = Path(__file__).resolve().parent
course_root = Path(os.environ.get("COURSE_ROOT", repo / "course_root")).resolve()

c.CourseDirectory.root = str(repo)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = str(course_root / "submitted")
c.CourseDirectory.autograded_directory = str(course_root / "autograded")
c.CourseDirectory.feedback_directory = str(course_root / "feedback")
c.CourseDirectory.db_url = f"sqlite:///{course_root / 'gradebook.db'}"
# Spec files (`<notebook>.specs.py`, beside each solution notebook) never go into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.specs.py"]

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\n"
              "raise NotImplementedError(\"Write this part; the text above says what it must do.\")",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Notebooks are released and graded without outputs; the kernel is the environment's Python.
c.ClearOutput.enabled = True
