"""The local, offline web performance guide (``pip install "plaster_model[web]"``).

``plaster-model serve`` serves it on 127.0.0.1; :func:`app` returns the same page as a
Panel object that renders inline in a Jupyter notebook. The page is a view: every number
in it comes from the library's public functions (:mod:`plaster_model.web.state`).

Offline: Bokeh and Panel serve their JavaScript and CSS from the local server
(``BOKEH_RESOURCES=server``), and in a notebook the resources are inlined
(``pn.extension(inline=True)``), so the page makes no request off this machine.

Examples
--------
>>> import plaster_model.web as web          # doctest: +SKIP
>>> web.app()                                # in a notebook cell  # doctest: +SKIP
"""
from __future__ import annotations

import os

__all__ = ["app", "serve", "require_panel", "WEB_EXTRA_HINT"]

WEB_EXTRA_HINT = 'the web guide needs the "web" extra: pip install "plaster_model[web]"'


def require_panel():
    """Import Panel, or raise ImportError naming the extra that installs it."""
    # Serve Bokeh/Panel assets from this process, never from a CDN (read when a page is
    # rendered, so setting it before the first import is enough).
    os.environ.setdefault("BOKEH_RESOURCES", "server")
    try:
        import panel as pn
    except ImportError as exc:
        raise ImportError(f"{WEB_EXTRA_HINT} ({exc})") from exc
    return pn


_EXTENSION_LOADED = False


def _extension(pn, inline: bool) -> None:
    global _EXTENSION_LOADED
    if not _EXTENSION_LOADED:
        pn.extension("tabulator", inline=inline, notifications=False)
        _EXTENSION_LOADED = True


def app(calibration=None):
    """The guide as a Panel layout: display it in a notebook cell, or serve it.

    Parameters
    ----------
    calibration : Calibration or str or path, optional
        A fitted :class:`plaster_model.Calibration` or a file saved by
        ``plaster-model calibrate`` / :meth:`~plaster_model.Calibration.save`.

    Returns
    -------
    panel.Column
        Training, Bandwidth, Inference and Calibration tabs, opened on the HPE Cookbook
        job (VGG-16, 100 M images, 10 epochs, 8 × P100 in an HPE Apollo 6500, InfiniBand
        FDR, batch 16 per GPU, weak scaling) with its predicted row.

    Raises
    ------
    ImportError
        Without the ``web`` extra (Panel).
    """
    pn = require_panel()
    # No matplotlib.use() here: the charts are standalone Figures saved to PNG, which
    # need no backend, so a notebook's own (inline) backend is left alone.
    _extension(pn, inline=True)
    from .page import build

    cal, label = _load_calibration(calibration)
    return build(cal, label)


def _load_calibration(calibration):
    if calibration is None:
        return None, "none (peak-based)"
    if isinstance(calibration, (str, os.PathLike)):
        import plaster_model as pm

        return pm.Calibration.load(calibration), os.path.basename(str(calibration))
    return calibration, "given calibration"


def serve(port: int = 5006, host: str = "127.0.0.1", show: bool = True, calibration=None):
    """Serve the guide on ``http://host:port/`` until interrupted (one app per session).

    Parameters
    ----------
    port : int
        TCP port (0: any free port).
    host : str
        Address to bind, default loopback only.
    show : bool
        Open a browser tab.
    calibration : Calibration or path, optional
        Calibration every session starts with.
    """
    pn = require_panel()
    import matplotlib

    matplotlib.use("Agg")
    _extension(pn, inline=False)
    from .page import build

    cal, label = _load_calibration(calibration)
    origins = [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    print(f"plaster-model: serving the performance guide on http://{host}:{port}/ (Ctrl-C stops)",
          flush=True)
    pn.serve({"/": lambda: build(cal, label)}, port=port, address=host, show=show,
             websocket_origin=origins, title="plaster_model performance guide",
             threaded=False, verbose=False)
