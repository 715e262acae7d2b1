"""Quality tools for sockteach's own developers (not part of the package a learner installs).

- ``python -m qa.mutate``: how strong the grader is — mutants of every reference solution,
  graded (see docs/mutation.md).
"""
