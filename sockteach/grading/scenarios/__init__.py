"""Grading scenarios of later exercises, one module each, with ``run(ctx)``
(see :func:`sockteach.grading.scenario`)."""
