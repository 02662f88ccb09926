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

from ..catalog.serialize import catalog_entry
from ..errors import CalibrationError

__all__ = ["save_calibration", "load_calibration", "to_dict", "from_dict", "FORMAT", "VERSION"]

FORMAT = "plaster_model.calibration"
VERSION = 2  # 2: communication efficiency keyed by (backend, link class)
#: Largest overhead a saved calibration may hold, in units of its group's time scale
#: ``τ_g`` (the fit's own unit): an overhead a thousand times the group's typical measured
#: time would put every prediction far above every measurement it was fitted to; 1e300
#: (issue 25) is a crafted file, not a fit.
MAX_OVERHEAD_TAU = 1e3
#: Largest calibration file :func:`load_calibration` reads [B]: a fit of thousands of
#: groups with 1,000 bootstrap draws is a few MB.
MAX_FILE_BYTES = 64 * 2**20
_TABLES = ("params_", "model_factors_", "comm_efficiencies_", "residuals_", "errors_", "skipped_", "unmapped_")


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
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cal.get_params().items()}
    llm = {"llm_training": cal.llm_training_.to_dict()} if hasattr(cal, "llm_training_") else {}
    if getattr(cal, "transformer_latency_", None) is not None:  # calibration/transformer_latency.py
        llm["transformer_latency"] = cal.transformer_latency_.to_dict()
    if llm and not cal._fitted():  # an LLM-training-only calibration (calibration/llm_training.py)
        return {"format": FORMAT, "version": VERSION, "parameters": params, **llm}
    cal._check_fitted()
    out = {
        "format": FORMAT, "version": VERSION, "parameters": params,
        "groups": [list(g) for g in cal.groups_],
        "group_time_scale": [float(v) for v in cal.group_time_scale_],
        "n_rows": int(cal.n_rows_),
        "setup_spread": [float(v) for v in cal.setup_spread_],
        # per phase; None where it was not measurable (JSON has no NaN)
        "fallback_spread": {k: (float(v) if math.isfinite(v) else None) for k, v in cal.fallback_spread_.items()},
        "source_spread": {k: (float(v) if math.isfinite(v) else None) for k, v in cal.source_spread_.items()},
        "fallback_level_spread": {ph: {lv: float(v) for lv, v in d.items()}
                                  for ph, d in getattr(cal, "fallback_level_spread_", {}).items()},
        "theta": [float(v) for v in cal.theta_],
        "theta_bootstrap": [[float(v) for v in row] for row in cal.theta_bootstrap_],
        # the catalog's one serializer: each object as its catalog entry (name and mapping)
        "user_models": {k: list(catalog_entry(m)[1:]) for k, m in cal.user_models_.items()},
        "user_devices": {k: list(catalog_entry(d)[1:]) for k, d in cal.user_devices_.items()},
    }
    for name in _TABLES:
        out[name.rstrip("_")] = _table(getattr(cal, name))
    out.update(llm)
    if getattr(cal, "serving_", None) is not None:  # LLM serving fit (calibration/serving.py)
        out["serving"] = cal.serving_.to_dict()
    if getattr(cal, "parameter_table_", None) is not None:
        out["parameter_table"] = _table(cal.parameter_table_)
    return out


def _fail(where: str, what: str) -> CalibrationError:
    return CalibrationError(f"{where}: {what}")


def _finite_array(data: dict, key: str, where: str, *, ndim: int = 1, low: float | None = None) -> np.ndarray:
    """``data[key]`` as a float array of `ndim` dimensions, every value finite (and >= `low`)."""
    try:
        arr = np.asarray(data[key], dtype=float)
    except KeyError:
        raise _fail(where, f"missing {key!r}") from None
    except (TypeError, ValueError):
        raise _fail(where, f"{key!r} must be a list of numbers") from None
    if arr.ndim != ndim and not (ndim == 2 and arr.size == 0):
        raise _fail(where, f"{key!r} must have {ndim} dimension(s), got shape {arr.shape}")
    bad = ~np.isfinite(arr) if low is None else ~(np.isfinite(arr) & (arr >= low))
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), arr.shape)
        need = "finite" if low is None else f"finite and >= {low:g}"
        raise _fail(where, f"{key}{list(map(int, i))} = {arr[i]!r}; expected {need}")
    return arr


def _check_theta(cal, where: str) -> None:
    """The fitted vector must lie inside the fit's own bounds (a crafted log-efficiency of 1e10
    would overflow exp(); a NaN overhead would make every prediction NaN)."""
    from .fit import ETA_BOUNDS, KAPPA_BOUNDS

    G = len(cal.groups_)
    x = cal.theta_
    if x.size < 3 * G:
        raise _fail(where, f"theta has {x.size} values; {G} groups need at least {3 * G}")
    tol = 1e-9
    lo_eta, hi_eta = np.log(ETA_BOUNDS[0]) - tol, np.log(ETA_BOUNDS[1]) + tol
    lo_k, hi_k = np.log(KAPPA_BOUNDS[0]) - tol, np.log(KAPPA_BOUNDS[1]) + tol
    for name, arr in (("theta", x), ("theta_bootstrap", cal.theta_bootstrap_)):
        a = np.atleast_2d(arr)
        if a.size == 0:
            continue
        eff = a[:, :3 * G].reshape(len(a), G, 3)
        for j, label in ((0, "log efficiency"), (2, "log comm/memory efficiency")):
            v = eff[:, :, j]
            if ((v < lo_eta) | (v > hi_eta)).any():
                bad = v[(v < lo_eta) | (v > hi_eta)][0]
                raise _fail(where, f"{name}: {label} {bad!r} outside the fit's bounds "
                                   f"[{lo_eta:.3g}, {hi_eta:.3g}] (efficiency {ETA_BOUNDS[0]:g}..{ETA_BOUNDS[1]:g})")
        if (eff[:, :, 1] < -tol).any():
            raise _fail(where, f"{name}: negative overhead {eff[:, :, 1][eff[:, :, 1] < -tol][0]!r}")
        if (eff[:, :, 1] > MAX_OVERHEAD_TAU).any():
            raise _fail(where, f"{name}: overhead {float(eff[:, :, 1][eff[:, :, 1] > MAX_OVERHEAD_TAU][0])!r} "
                               f"group time scales, above {MAX_OVERHEAD_TAU:g} (no fit gives it)")
        M = len(cal.model_factors_)
        k = a[:, 3 * G:3 * G + M]
        if ((k < lo_k) | (k > hi_k)).any():
            raise _fail(where, f"{name}: log model factor outside [{lo_k:.3g}, {hi_k:.3g}]")
        c = a[:, 3 * G + M:]
        if c.shape[1] != len(cal.comm_efficiencies_):
            raise _fail(where, f"{name}: {c.shape[1]} communication efficiencies for "
                               f"{len(cal.comm_efficiencies_)} (backend, link class) keys")
        if ((c < lo_eta) | (c > hi_eta)).any():
            raise _fail(where, f"{name}: log communication efficiency outside [{lo_eta:.3g}, {hi_eta:.3g}]")


def from_dict(data: dict, *, origin: str = "calibration data"):
    """Rebuild a fitted calibration from :func:`to_dict` output, validating every part.

    Raises
    ------
    CalibrationError
        A part is missing, of the wrong type, non-finite or outside the fit's bounds, or a
        constructor parameter is invalid (``interval: 5``); the message names `origin`.
    """
    from ..catalog.serialize import from_entry
    from .model import Calibration

    where = origin
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _fail(where, f"not a plaster_model calibration file (expected format: {FORMAT!r})")
    if data.get("version") != VERSION:
        raise _fail(where, f"calibration file version {data.get('version')!r} is not supported (expected {VERSION})")
    params = data.get("parameters")
    if not isinstance(params, dict):
        raise _fail(where, "'parameters' must be a mapping of constructor parameters")
    params = dict(params)
    unknown = set(params) - set(Calibration._PARAM_NAMES)
    if unknown:
        raise _fail(where, f"unknown parameter(s) {sorted(unknown)}")
    # files written before the per-operator roofline hold efficiencies of the peak
    params.setdefault("roofline", False)
    if isinstance(params.get("metrics"), list):
        params["metrics"] = tuple(params["metrics"])
    cal = Calibration(**params)
    try:
        cal._validate()
    except (ValueError, TypeError, KeyError) as exc:
        raise _fail(where, f"invalid parameter: {exc}") from None
    if data.get("transformer_latency") is not None:  # calibration/transformer_latency.py
        from .transformer_latency import TransformerLatencyFit
        cal.transformer_latency_ = TransformerLatencyFit.from_dict(data["transformer_latency"])
    if "llm_training" in data or "transformer_latency" in data:  # the LLM-training part (llm_training.py)
        if "llm_training" in data:
            from .llm_training import LLMTrainingFit
            cal.llm_training_ = LLMTrainingFit.from_dict(data["llm_training"], origin=where)
        if "theta" not in data:
            return cal
    groups = data.get("groups")
    if not isinstance(groups, list) or not all(
            isinstance(g, list) and len(g) >= 3 and all(isinstance(k, str) for k in g)
            and g[2] in ("training", "inference") for g in groups):
        raise _fail(where, "'groups' must be a list of [device, precision, phase, ...] text keys")
    cal.groups_ = [tuple(g) for g in groups]
    G = len(groups)
    cal.group_time_scale_ = _finite_array(data, "group_time_scale", where, low=1e-300)
    if cal.group_time_scale_.size != G:
        raise _fail(where, f"group_time_scale has {cal.group_time_scale_.size} values for {G} groups")
    n_rows = data.get("n_rows")
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 0:
        raise _fail(where, f"n_rows must be a non-negative integer, got {n_rows!r}")
    cal.n_rows_ = n_rows
    cal.setup_spread_ = _finite_array(data, "setup_spread", where, low=0.0)
    for attr in ("fallback_spread", "source_spread"):  # per phase; NaN where it was not measurable
        spread = data.get(attr) or {}
        if not isinstance(spread, dict) or not all(
                k in ("training", "inference") and (v is None or (isinstance(v, (int, float))
                                                                 and not isinstance(v, bool) and v >= 0))
                for k, v in spread.items()):
            raise _fail(where, f"{attr!r} must map a phase to a spread >= 0 (or null)")
        setattr(cal, attr + "_", {k: (math.nan if v is None else float(v)) for k, v in spread.items()})
    from .lookup import FALLBACK_LEVELS

    levels = data.get("fallback_level_spread") or {}  # absent in files saved before it existed
    if not isinstance(levels, dict) or not all(
            ph in ("training", "inference") and isinstance(d, dict) and all(
                lv in FALLBACK_LEVELS and isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) and v >= 0 for lv, v in d.items())
            for ph, d in levels.items()):
        raise _fail(where, f"'fallback_level_spread' must map a phase to {{level: spread >= 0}} "
                           f"with levels among {list(FALLBACK_LEVELS)}")
    cal.fallback_level_spread_ = {ph: {lv: float(v) for lv, v in d.items()} for ph, d in levels.items()}
    cal.theta_ = _finite_array(data, "theta", where)
    boot = _finite_array(data, "theta_bootstrap", where, ndim=2)
    if boot.size and boot.shape[1] != cal.theta_.size:
        raise _fail(where, f"theta_bootstrap rows have {boot.shape[1]} values, theta {cal.theta_.size}")
    cal.theta_bootstrap_ = boot.reshape(-1, cal.theta_.size)
    if len(cal.theta_bootstrap_) == 0:
        # Intervals are quantiles of the draws (a fit always makes them: the bootstrap, or
        # 200 Jacobian draws with n_bootstrap=0): with none every interval would be NaN.
        raise _fail(where, "theta_bootstrap is empty: a fitted calibration holds its parameter "
                           "draws (every interval would be NaN)")
    try:
        cal.user_models_ = {k: from_entry("model", *v, origin=where)
                            for k, v in (data.get("user_models") or {}).items()}
        cal.user_devices_ = {k: from_entry("device", *v, origin=where)
                             for k, v in (data.get("user_devices") or {}).items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise _fail(where, f"bad user model or device: {exc}") from None
    for name in _TABLES:
        table = data.get(name.rstrip("_"))
        if not (isinstance(table, dict) and isinstance(table.get("columns"), list)
                and isinstance(table.get("rows"), list)
                and all(isinstance(r, list) and len(r) == len(table["columns"]) for r in table["rows"])):
            raise _fail(where, f"table {name.rstrip('_')!r} must be {{columns: [...], rows: [[...], ...]}}")
        setattr(cal, name, _untable(table))
    # the named parameter table (files from before it have none)
    pt = data.get("parameter_table")
    if isinstance(pt, dict) and isinstance(pt.get("columns"), list) and isinstance(pt.get("rows"), list):
        cal.parameter_table_ = _untable(pt)
    if len(cal.params_) != G:
        raise _fail(where, f"params table has {len(cal.params_)} rows for {G} groups")
    _check_theta(cal, where)  # needs the model-factor and communication tables for its layout
    for col in ("efficiency", "overhead_s", "scatter"):
        if col not in cal.params_.columns:
            raise _fail(where, f"params table lacks {col!r}")
        v = pd.to_numeric(cal.params_[col], errors="coerce").to_numpy(dtype=float)
        if not (np.isfinite(v) & (v >= 0)).all():
            raise _fail(where, f"params.{col} holds {v[~(np.isfinite(v) & (v >= 0))][0]!r}; "
                               "expected finite and >= 0")
    try:
        cal._index_tables()
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise _fail(where, f"inconsistent tables ({type(exc).__name__}: {exc})") from None
    if data.get("serving") is not None:  # LLM serving fit (calibration/serving.py)
        from .serving import ServingCalibration
        cal.serving_ = ServingCalibration.from_dict(data["serving"])
    return cal


def _is_yaml(path) -> bool:
    return Path(path).suffix.lower() in (".yaml", ".yml")


def _serialize(cal, path: Path) -> bytes:
    data = to_dict(cal)
    if _is_yaml(path):
        import yaml
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    else:
        text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    # Strict UTF-8: a lone surrogate in a model name fails here, before any file is touched.
    return text.encode("utf-8")


def save_calibration(cal, path) -> None:
    """Write ``cal`` to ``path`` atomically: YAML for ``.yaml``/``.yml``, JSON otherwise.

    The text is built and checked first (it must load back: :func:`from_dict`), written to
    a temporary file in the same folder, flushed to disk (``fsync``) and moved over `path`
    with :func:`os.replace` (atomic on POSIX and Windows). A failure at any step (a full
    disk, an unencodable name) leaves an existing file at `path` untouched.

    Raises
    ------
    CalibrationError
        The calibration cannot be serialized (non-finite numbers, unencodable text).
    OSError
        The folder cannot be written.
    """
    import tempfile

    path = Path(path)
    _check_target(path)
    try:
        payload = _serialize(cal, path)
        # Validate before writing: what is saved must load (same checks as load_calibration).
        from_dict(_parse(payload.decode("utf-8"), path), origin=str(path))
    except CalibrationError:
        raise
    except (ValueError, UnicodeError, TypeError) as exc:
        raise _fail(str(path), f"cannot be saved ({type(exc).__name__}: {exc})") from None
    folder = path.parent if str(path.parent) else Path(".")
    _remove_stale_temps(folder, path.name)
    mode = _target_mode(path)
    # The writer's pid in the name: a temp file left by a killed save is recognised (its
    # process is gone) and removed by the next save of the same file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, mode)  # mkstemp makes 0600; keep the file's mode (or the umask's)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable where the platform allows it
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _check_target(path: Path) -> None:
    """Refuse to replace anything but a regular file (a FIFO, a device, a folder)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise _fail(str(path), "exists and is not a regular file; not replaced")


def _target_mode(path: Path) -> int:
    """Permission bits for the saved file: the existing file's, else 0666 less the umask
    (what ``open(path, "w")`` gives)."""
    import stat

    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Delete ``.<name>.<pid>.*.tmp`` files whose writer is gone (a save killed mid-write)."""
    prefix = f".{name}."
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        n = entry.name
        if not (n.startswith(prefix) and n.endswith(".tmp")):
            continue
        pid = n[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            entry.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's live process, or a pid we cannot ask about: keep it
    return True


def _parse(text: str, path) -> object:
    if _is_yaml(path):
        import yaml

        from .._yaml import load_yaml
        try:
            return load_yaml(text)
        except RecursionError:
            raise _fail(str(path), "YAML nested too deeply") from None
        except yaml.YAMLError as exc:
            raise _fail(str(path), f"not valid YAML: {exc}") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise _fail(str(path), "JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise _fail(str(path), f"not valid JSON: {exc}") from None


def load_calibration(path: str | os.PathLike):
    """Read a calibration written by :func:`save_calibration` (format by extension).

    Every part is validated (:func:`from_dict`): a crafted file (a NaN overhead, a
    log-efficiency of 1e10, ``interval: 5``, a YAML alias bomb) raises
    :class:`~plaster_model.CalibrationError` naming the file and the part.
    """
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise
    if not stat.S_ISREG(st.st_mode):
        # Opening a FIFO blocks until a writer comes; a device may never end.
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode) \
            else "a special file"
        raise _fail(str(path), f"not a regular file ({kind})")
    if st.st_size > MAX_FILE_BYTES:
        raise _fail(str(path), f"{st.st_size:,} bytes, over the {MAX_FILE_BYTES >> 20} MiB limit "
                               "of a calibration file")
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    data = _parse(text, path)
    try:
        return from_dict(data, origin=str(path))
    except (KeyError, TypeError, AttributeError) as exc:
        raise _fail(str(path), f"malformed calibration file ({type(exc).__name__}: {exc})") from None
