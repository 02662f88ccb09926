"""Deprecated alias of :mod:`plaster_model.io.readers` (the readers moved there).

Kept so that ``from plaster_model.measurements import read_measurements`` still works; new
code imports from :mod:`plaster_model.io.readers` or uses ``pm.read_measurements``.
Submodules (``plaster_model.measurements.trtexec`` and the like) are not aliased: import
them from ``plaster_model.io.readers``.
"""
from .io.readers import *  # noqa: F401,F403 - the alias re-exports the readers' public names
from .io.readers import __all__  # noqa: F401
