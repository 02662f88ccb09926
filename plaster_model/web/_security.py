"""What keeps the served guide safe with files and pages from strangers.

* :func:`text` / :func:`md_text`: anything that comes from a file, a file name, a catalog
  entry or an error message is shown as text, never as HTML or Markdown markup.
* :class:`CSPTransform`: every HTTP answer carries a Content-Security-Policy that lets the
  page load and connect to its own origin only; the page's own inline scripts are allowed
  by their SHA-256 hash (computed from the answer itself), so an injected inline handler
  (``<img onerror=...>``) or ``<script>`` still does not run.
* :func:`guard_hosts`: the server answers only requests whose ``Host`` (and ``Origin``,
  when the browser sends one) is this machine or a name the user allowed, so another web
  page cannot drive it (cross-site requests, DNS rebinding).
* :data:`UPLOAD_GUARD_JS`: a same-origin script that replaces a file larger than the
  upload limit by a small marker before the browser sends it, so the server can refuse it
  with a message instead of the websocket closing on an oversized frame.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re

__all__ = ["text", "md_text", "CSPTransform", "csp_header", "guard_hosts", "allowed_names",
           "TOO_LARGE_MIME", "upload_guard_js"]

#: Markdown's inline markup characters (backslash-escaped by :func:`md_text`): emphasis,
#: code, links and images (``[``, ``!``), tables, strike-through. The block markers
#: (``#``, ``-``, ``1.``) act only at the start of a line, where no value is put.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]!|~])")


def text(value) -> str:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and quotes escaped.

    >>> text("<img src=x onerror='document.title=1337'>")
    '&lt;img src=x onerror=&#x27;document.title=1337&#x27;&gt;'
    """
    return html.escape(str(value), quote=True)


def md_text(value) -> str:
    """``value`` as literal text inside a Markdown pane: HTML escaped first (Markdown
    passes raw HTML through), then every Markdown markup character backslash-escaped, so
    ``p*`` opens no emphasis and ``[x](javascript:...)`` makes no link.

    >>> print(md_text("<b>p*_x_</b> V100's"))
    &lt;b&gt;p\\*\\_x\\_&lt;/b&gt; V100's
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False))


# ----------------------------------------------------------------------------- CSP
_INLINE_SCRIPT = re.compile(rb"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_DATA_SCRIPT = re.compile(rb"type\s*=\s*[\"']?application/(json|ld\+json)", re.I)


def _script_hashes(body: bytes) -> list[str]:
    """CSP hash sources of the executable inline scripts of an HTML answer."""
    out = []
    for m in _INLINE_SCRIPT.finditer(body):
        attrs, code = m.group("attrs"), m.group("body")
        if re.search(rb"\bsrc\s*=", attrs, re.I) or _DATA_SCRIPT.search(attrs):
            continue  # external (same-origin) file or a data block: no hash needed
        digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
        out.append(f"'sha256-{digest}'")
    return sorted(set(out))


def csp_header(script_hashes=()) -> str:
    """The Content-Security-Policy of every answer.

    Scripts: the server's own files, blob URLs (Panel loads its module code from blobs
    it creates, which only an already running script can do) and the page's own inline
    scripts by hash (no ``'unsafe-inline'``, so injected handlers are blocked). ``'unsafe-eval'``: BokehJS
    compiles its expression/transform models with ``new Function``. Styles may be inline
    (Bokeh sets element styles; CSS cannot run script). Connections: this origin only
    (``'self'`` covers the websocket of the same host and port in CSP level 3).
    """
    scripts = " ".join(["'self'", "'report-sample'", "blob:", "'unsafe-eval'", *script_hashes])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; "
            "connect-src 'self'; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


class CSPTransform:
    """A Tornado output transform adding the CSP (and ``nosniff``) to every answer.

    Registered in the Bokeh server's Tornado application (``app.transforms``); Tornado
    makes one per request and hands it the first chunk of the answer, which for the page
    itself is the whole HTML (Bokeh renders it in one write), so its inline scripts can be
    hashed here.
    """

    def __init__(self, request):
        self.request = request

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        ctype = headers.get("Content-Type", "")
        hashes = _script_hashes(chunk) if "html" in ctype and chunk else []
        headers["Content-Security-Policy"] = csp_header(hashes)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        return status_code, headers, chunk

    def transform_chunk(self, chunk, finishing):
        return chunk


# ----------------------------------------------------------------------------- hosts
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _hostname(value: str) -> str:
    """``host[:port]`` or ``[v6]:port`` -> lower-case host name."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_names(bind_host: str, extra=()) -> set[str]:
    """Host names the server answers: loopback, the bound address unless it is a wildcard,
    and the ``--allow-websocket-origin`` names (``host`` or ``host:port``)."""
    names = set(LOOPBACK_NAMES)
    if bind_host and bind_host not in ("0.0.0.0", "::", ""):
        names.add(_hostname(bind_host))
    names.update(_hostname(e) for e in extra if e)
    return names


def _origin_host(origin: str) -> str | None:
    from urllib.parse import urlparse

    if origin in ("null", ""):
        return None
    return urlparse(origin).hostname


def guard_hosts(tornado_app, names) -> None:
    """Refuse (403) every request whose ``Host`` or ``Origin`` names another machine.

    Wraps the application's ``find_handler`` (the router Tornado's HTTP server asks for
    each request) before any handler runs, so a refused request costs no page build.
    """
    from tornado.web import ErrorHandler

    names = {n.lower() for n in names}
    find = tornado_app.find_handler

    def find_handler(request, **kwargs):
        host_ok = _hostname(request.host or "") in names
        origin = request.headers.get("Origin")
        origin_ok = origin is None or _origin_host(origin) in names
        if not (host_ok and origin_ok):
            return tornado_app.get_handler_delegate(request, ErrorHandler, {"status_code": 403})
        return find(request, **kwargs)

    tornado_app.find_handler = find_handler


# ----------------------------------------------------------------------------- uploads
#: MIME type of the marker the upload guard sends in place of a file over the limit.
TOO_LARGE_MIME = "application/x-plaster-too-large"


def upload_guard_js(limit_bytes: int) -> str:
    """The same-origin script that keeps oversized files off the websocket.

    Bokeh's file input reads each chosen file with ``FileReader.readAsDataURL`` and sends
    it in one websocket frame; a file over ``limit_bytes`` is replaced by a marker blob of
    type :data:`TOO_LARGE_MIME` holding its size, which the server turns into a message.
    """
    return f"""/* plaster_model web guide: refuse oversized uploads before they are sent */
(function () {{
  var LIMIT = {int(limit_bytes)};
  var read = FileReader.prototype.readAsDataURL;
  FileReader.prototype.readAsDataURL = function (blob) {{
    if (blob && blob.size > LIMIT) {{
      return read.call(this, new Blob([String(blob.size)], {{type: "{TOO_LARGE_MIME}"}}));
    }}
    return read.call(this, blob);
  }};
}})();
"""
