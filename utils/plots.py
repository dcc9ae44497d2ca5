"""The book's plotting style and shared plotting helpers."""

from __future__ import annotations

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.autolayout": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "legend.frameon": False,
    "font.size": 10,
}


def use_book_style() -> None:
    """Apply the book's single matplotlib style (and PNG output in notebooks)."""
    import matplotlib

    matplotlib.rcParams.update(BOOK_STYLE)
    try:  # inside IPython: store figures as PNG only, which keeps notebooks small
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        if get_ipython() is not None:
            set_matplotlib_formats("png")
    except ImportError:  # plain Python: nothing to configure
        pass
