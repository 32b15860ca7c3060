"""The student side of the course tool: ``course check`` and ``course submit``.

This package ships to students (in the bundle ``course release`` writes) together with
``course_utils`` and the check API the notebooks call (:mod:`autograder.checks` with the modules it
imports, :mod:`autograder.cells`). It must never import a module that reads specs, reference
solutions, the gradebook or submissions of others: what it knows of an assignment comes from the
notebooks themselves and from the assignment's student manifest (:mod:`.manifest`), which names
cells and functions only.

Modules
-------
manifest   what students may know of an assignment: its notebooks, cells and the loop rule
asserts    in the kernel: failing ``assert`` statements report their line and values
probes     in the kernel: the vectorisation rule, checked with the grader's own code
runner     run one notebook in a fresh kernel, cell by cell, probing after graded cells
causes     which earlier failing cell explains a ``NameError``
report     what each test cell's outcome means for grading, and the per-notebook summary
check      ``course check``: run, report, exit status
submit     ``course submit``: validate, check, write the zip for the LMS
cli        the student ``course`` command
"""
