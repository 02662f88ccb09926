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
from pathlib import Path

__all__ = ["app", "serve", "make_server", "require_panel", "WEB_EXTRA_HINT"]

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
        FDR, batch 16 per GPU, weak scaling) with its predicted row. The Training tab also
        has an LLM plans mode (:func:`plaster_model.predict_llm_training`,
        :func:`plaster_model.best_plans`) and the Inference tab an LLM serving mode
        (:func:`plaster_model.best_serving`, :func:`plaster_model.predict_serving`).

    Raises
    ------
    ImportError
        Without the ``web`` extra (Panel).
    """
    pn = require_panel()
    # The charts are Bokeh figures: a notebook's matplotlib backend is left alone.
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


#: How long a page load's session lives without its browser connecting [ms] (Bokeh's
#: default is 15 s; a plain ``GET /`` never connects, so its session is dropped soon).
UNUSED_SESSION_LIFETIME_MS = 5_000
#: How often unused sessions are looked for [ms].
CHECK_UNUSED_SESSIONS_MS = 2_000


def _release_memory(session_context) -> None:
    """After a session ends: collect its cycles and hand freed heap pages back to the
    operating system (glibc keeps them otherwise, so the resident size never falls)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the allocator keeps its own policy


def make_server(port: int = 5006, host: str = "127.0.0.1", calibration=None,
                allow_websocket_origin=(), max_upload_bytes: int | None = None):
    """The guide's Bokeh server, hardened and not yet started.

    Every answer carries a Content-Security-Policy limiting the page to its own origin
    (:class:`~plaster_model.web._security.CSPTransform`); requests whose ``Host`` or
    ``Origin`` is not this machine (or a name in ``allow_websocket_origin``) get 403
    before any page is built; uploads over ``max_upload_bytes`` are replaced in the
    browser by a marker the page turns into a message; sessions that end are freed.

    Parameters
    ----------
    port, host : int, str
        Where to listen (default loopback only).
    calibration : Calibration or path, optional
        Calibration every session starts with.
    allow_websocket_origin : sequence of str
        Extra host names (``host`` or ``host:port``) the server answers, for a guide
        reached through another name (a reverse proxy, a LAN address).
    max_upload_bytes : int, optional
        Per-file upload limit (default: ``PLASTER_WEB_MAX_UPLOAD_BYTES`` from the
        environment, else :data:`plaster_model.web.state.MAX_UPLOAD_BYTES`).
    """
    import tempfile

    pn = require_panel()
    import matplotlib

    matplotlib.use("Agg")
    _extension(pn, inline=False)
    from . import _security
    from .page import build_deferred

    from .state import upload_limit

    if max_upload_bytes:
        os.environ["PLASTER_WEB_MAX_UPLOAD_BYTES"] = str(int(max_upload_bytes))
    limit = upload_limit()
    cal, label = _load_calibration(calibration)
    names = _security.allowed_names(host, allow_websocket_origin)
    # Bokeh's own websocket origin list (its syntax has no IPv6 literals; the host guard
    # below covers them).
    origins = sorted({f"{n}:{port}" for n in names if ":" not in n}
                     | {o for o in allow_websocket_origin if o.count(":") == 1})
    static = tempfile.mkdtemp(prefix="plaster-web-static-")
    Path(static, "upload_guard.js").write_text(_security.upload_guard_js(limit))
    pn.config.js_files = {**pn.config.js_files, "plaster_upload_guard": "plaster-static/upload_guard.js"}
    pn.state.on_session_destroyed(_release_memory)

    server = pn.serve({"/": lambda: build_deferred(cal, label)}, port=port, address=host, show=False, start=False,
                      websocket_origin=origins, title="plaster_model performance guide",
                      threaded=False, verbose=False, static_dirs={"plaster-static": static},
                      # room for a file at the limit, base64-encoded (4/3) plus framing
                      websocket_max_message_size=limit * 4 // 3 + 2**20,
                      unused_session_lifetime_milliseconds=UNUSED_SESSION_LIFETIME_MS,
                      check_unused_sessions_milliseconds=CHECK_UNUSED_SESSIONS_MS)
    app = server._tornado
    app.transforms.append(_security.CSPTransform)
    _security.guard_hosts(app, names)
    return server


def serve(port: int = 5006, host: str = "127.0.0.1", show: bool = True, calibration=None,
          allow_websocket_origin=(), max_upload_bytes: int | None = None):
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
    allow_websocket_origin : sequence of str
        Extra host names the server answers (default: this machine only).
    max_upload_bytes : int, optional
        Per-file upload limit.
    """
    server = make_server(port=port, host=host, calibration=calibration,
                         allow_websocket_origin=allow_websocket_origin, max_upload_bytes=max_upload_bytes)
    print(f"plaster-model: serving the performance guide on http://{host}:{server.port}/ (Ctrl-C stops)",
          flush=True)
    server.start()
    if show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
