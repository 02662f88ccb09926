"""Save and load a fitted :class:`~plaster_model.calibration.Calibration` (YAML or JSON).

The file holds the constructor parameters, the fitted tables (``params_``,
``model_factors_``, ``residuals_``, ``errors_``, ``skipped_``, ``unmapped_``), the parameter
vector and its bootstrap draws (so intervals are reproduced exactly), and the user models
and devices given to ``fit`` (their numeric fields), under ``format: plaster_model.calibration``
with a ``version``. The extension picks the format: ``.yaml``/``.yml`` is YAML, anything
else JSON.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["save_calibration", "load_calibration", "to_dict", "from_dict", "FORMAT", "VERSION"]

FORMAT = "plaster_model.calibration"
VERSION = 2  # 2: communication efficiency keyed by (backend, link class)
_TABLES = ("params_", "model_factors_", "comm_efficiencies_", "residuals_", "errors_", "skipped_", "unmapped_")
_MODEL_FIELDS = ("name", "params", "fwd_flops", "source", "full_name", "task", "input_shape",
                 "activation_bytes_per_sample", "notes")
_DEVICE_FIELDS = ("name", "peak_flops", "memory_bytes", "memory_bandwidth", "power_w", "source",
                  "full_name", "vendor", "kind", "notes")


def _plain(v):
    """JSON/YAML-safe scalar (NaN -> None, numpy -> Python)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict) or hasattr(v, "items"):
        return {str(k): _plain(x) for k, x in v.items()}
    if v is pd.NA:
        return None
    return v


def _table(df: pd.DataFrame) -> dict:
    return {"columns": list(df.columns),
            "rows": [[_plain(v) for v in rec] for rec in df.itertuples(index=False, name=None)]}


def _untable(d: dict) -> pd.DataFrame:
    df = pd.DataFrame(d["rows"], columns=d["columns"])
    for c in df.columns:
        if df[c].dtype == object and all(v is None or isinstance(v, (int, float)) for v in df[c]):
            df[c] = pd.to_numeric(df[c].astype("float64"))
    return df


def to_dict(cal) -> dict:
    """Plain-data form of a fitted calibration."""
    cal._check_fitted()
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cal.get_params().items()}
    out = {
        "format": FORMAT, "version": VERSION, "parameters": params,
        "groups": [list(g) for g in cal.groups_],
        "group_time_scale": [float(v) for v in cal.group_time_scale_],
        "n_rows": int(cal.n_rows_),
        "setup_spread": [float(v) for v in cal.setup_spread_],
        "fallback_spread": {k: float(v) for k, v in cal.fallback_spread_.items()},
        "source_spread": {k: float(v) for k, v in cal.source_spread_.items()},
        "theta": [float(v) for v in cal.theta_],
        "theta_bootstrap": [[float(v) for v in row] for row in cal.theta_bootstrap_],
        "user_models": {k: {f: _plain(getattr(m, f)) for f in _MODEL_FIELDS} for k, m in cal.user_models_.items()},
        "user_devices": {k: {f: _plain(getattr(d, f)) for f in _DEVICE_FIELDS} for k, d in cal.user_devices_.items()},
    }
    for name in _TABLES:
        out[name.rstrip("_")] = _table(getattr(cal, name))
    return out


def from_dict(data: dict):
    """Rebuild a fitted calibration from :func:`to_dict` output."""
    from ..catalog.objects import Device, Model
    from .model import Calibration

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a plaster_model calibration file (expected format: {FORMAT!r})")
    if data.get("version") != VERSION:
        raise ValueError(f"calibration file version {data.get('version')!r} is not supported (expected {VERSION})")
    params = dict(data["parameters"])
    if isinstance(params.get("metrics"), list):
        params["metrics"] = tuple(params["metrics"])
    cal = Calibration(**params)
    cal.groups_ = [tuple(g) for g in data["groups"]]
    cal.group_time_scale_ = np.asarray(data["group_time_scale"], dtype=float)
    cal.n_rows_ = int(data["n_rows"])
    cal.setup_spread_ = np.asarray(data["setup_spread"], dtype=float)
    cal.fallback_spread_ = {k: float(v) for k, v in (data.get("fallback_spread") or {}).items()}
    cal.source_spread_ = {k: float(v) for k, v in (data.get("source_spread") or {}).items()}
    cal.theta_ = np.asarray(data["theta"], dtype=float)
    cal.theta_bootstrap_ = np.asarray(data["theta_bootstrap"], dtype=float).reshape(-1, cal.theta_.size)
    cal.user_models_ = {k: Model(**{f: v for f, v in m.items() if v is not None})
                        for k, m in (data.get("user_models") or {}).items()}
    cal.user_devices_ = {k: Device(**{f: v for f, v in d.items() if v is not None})
                         for k, d in (data.get("user_devices") or {}).items()}
    for name in _TABLES:
        setattr(cal, name, _untable(data[name.rstrip("_")]))
    cal._index_tables()
    return cal


def _is_yaml(path) -> bool:
    return Path(path).suffix.lower() in (".yaml", ".yml")


def save_calibration(cal, path) -> None:
    """Write ``cal`` to ``path``: YAML for ``.yaml``/``.yml``, JSON otherwise."""
    data = to_dict(cal)
    path = Path(path)
    if _is_yaml(path):
        import yaml
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    else:
        text = json.dumps(data, indent=1, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")


def load_calibration(path: str | os.PathLike):
    """Read a calibration written by :func:`save_calibration` (format by extension)."""
    text = Path(path).read_text(encoding="utf-8")
    if _is_yaml(path):
        import yaml
        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    try:
        return from_dict(data)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: malformed calibration file ({type(exc).__name__}: {exc})") from None
