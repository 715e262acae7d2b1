"""sockteach: learn TCP sockets by watching real ones work."""

__version__ = "0.1.0"


def check(number, path=None, **options):
    """Check exercise ``number`` (a file or folder; default: the file ``sockteach start``
    wrote). Returns a result that renders as a checklist, with ``.passed``, ``.score`` and
    ``.checks``. See :func:`sockteach.grading.check`."""
    from .grading import check as _check

    return _check(number, path, **options)


def play(number, lang=None, speed=1.0, fast=False, **options):
    """Jupyter: play lesson ``number`` in this cell, live. See :func:`sockteach.notebook.play`."""
    from .notebook import play as _play

    return _play(number, lang, speed, fast, **options)


def serve(number, lang=None, **options):
    """Jupyter: start lesson ``number``'s server in the background, narrated into this cell;
    you are the client (connect to ``srv.address``). See :func:`sockteach.notebook.serve`."""
    from .notebook import serve as _serve

    return _serve(number, lang, **options)


def show(number, role=None, lang=None, diff=False, **options):
    """Lesson ``number``'s code, highlighted (HTML in a notebook). See
    :func:`sockteach.notebook.show`."""
    from .notebook import show as _show

    return _show(number, role, lang, diff, **options)


def hint(number, lang=None):
    """The hints of exercise ``number``. See :func:`sockteach.notebook.hint`."""
    from .notebook import hint as _hint

    return _hint(number, lang)
