"""sockteach: learn TCP sockets by watching real ones work."""

__version__ = "0.1.0"


def check(number, path=None, **options):
    """Check exercise ``number`` (a file or folder; default: the file ``sockteach start``
    wrote). Returns a result that renders as a checklist, with ``.passed``, ``.score`` and
    ``.checks``. See :func:`sockteach.grading.check`."""
    from .grading import check as _check

    return _check(number, path, **options)

