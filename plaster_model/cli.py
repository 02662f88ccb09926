"""Command line: ``plaster-model predict|train-plan|serve-plan|inference|best-batch|plaster|bandwidth|sweep|
devices|models|interconnects|systems|calibrate|catalog upgrade|serve``.

Every sub-command that answers takes ``--format table|csv|json``. ``predict`` with any of
``--tp/--pp/--dp/--cp/--ep/--zero/--micro-batch/--global-batch/--seq-len/--recompute``
predicts a zoo transformer under that parallel plan (``plaster_model.predict_llm_training``,
as ``train-plan`` does). A configuration that does
not fit in device memory exits with status 2 and a one-line message (``--allow-oversubscribed``
answers anyway); warnings print as one line each, without source paths.
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main", "build_parser"]

#: Sub-command name -> function(args) -> exit code. Other modules register theirs here.
COMMANDS = {}


def _command(name):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


def _print_frame(df, fmt: str, columns=None) -> None:
    import pandas as pd

    if columns:
        df = df[[c for c in columns if c in df.columns]]
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        print(df.to_json(orient="records", indent=2))
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200, "display.max_colwidth", 60):
            print(df.to_string(index=False))


def _fmt_flops(x):
    from .units import format_si
    return "" if x is None or x != x else format_si(x, "FLOP/s")


def _cluster(args):
    """The cluster of ``--system``/``--nodes`` or ``--device``/``--devices`` (predict, bandwidth)."""
    import plaster_model as pm

    if args.system:
        if args.device or args.devices_per_node is not None:
            raise pm.ParameterError("--system", args.system, "a catalog system without --device or "
                                    "--devices-per-node (the system fixes both)")
        # a system sized in nodes (--nodes) or in devices (--devices); links may be overridden
        return pm.Cluster.from_system(args.system, nodes=args.nodes, n_devices=args.devices,
                                      intra_node=args.intra_node, interconnect=args.interconnect,
                                      nics_per_node=args.nics_per_node)
    if not args.device:
        raise SystemExit("error: give --device (or --system)")
    return pm.Cluster(device=args.device, n_devices=args.devices or 1,
                      devices_per_node=args.devices_per_node or 1, intra_node=args.intra_node,
                      interconnect=args.interconnect, nics_per_node=args.nics_per_node or 1)


def _calibration(args):
    import plaster_model as pm

    return pm.calibration.Calibration.load(args.calibration) if getattr(args, "calibration", None) else None


def _print_result(result, fmt: str, notes=()) -> None:
    """A result object: its summary as a table, its ``to_frame()`` as csv/json."""
    if fmt == "table":
        print(result)
        for n in notes:
            print(f"  - {n}")
    else:
        _print_frame(result.to_frame(), fmt)


@_command("predict")
def _predict(args) -> int:
    import plaster_model as pm
    from .parallel.cli import plan_flags_given, predict_plan

    cluster = _cluster(args)
    if plan_flags_given(args):  # --tp/--pp/...: a transformer under a parallel plan
        return predict_plan(args, cluster, _calibration(args))
    # --algorithm unset: the library's default, so the CLI and Python predict the same job
    extra = {} if args.algorithm is None else {"algorithm": args.algorithm}
    pred = pm.predict_epoch_time(args.model, cluster, dataset=args.dataset, epochs=args.epochs,
                                 batch_per_device=args.batch_per_device, precision=args.precision,
                                 scaling=args.scaling, calibration=_calibration(args),
                                 efficiency=args.efficiency, allow_oversubscribed=args.allow_oversubscribed,
                                 **extra)
    notes = ([f"batch per device {args.batch_per_device:g} is the CLI default (--batch-per-device)"]
             if args.batch_per_device_default else [])
    _print_result(pred, args.format, notes)
    return 0


@_command("bandwidth")
def _bandwidth(args) -> int:
    import plaster_model as pm

    extra = {} if args.algorithm is None else {"algorithm": args.algorithm}
    verdict = pm.is_bandwidth_bound(args.model, _cluster(args), batch_per_device=args.batch_per_device,
                                    precision=args.precision, scaling=args.scaling,
                                    calibration=_calibration(args), efficiency=args.efficiency,
                                    check_memory=not args.allow_oversubscribed, **extra)
    if args.format == "table":
        print(verdict)
    else:
        _print_frame(verdict.to_frame(), args.format)
    return 0


def _batches(text):
    return [int(b) for b in str(text).replace(",", " ").split()]


@_command("inference")
def _inference(args) -> int:
    import plaster_model as pm

    df = pm.latency_throughput_curve(args.model, args.device, precision=args.precision,
                                     batches=_batches(args.batches), calibration=_calibration(args),
                                     allow_oversubscribed=args.allow_oversubscribed)
    if args.format == "table":
        from .units import format_si

        view = df[["model", "device", "precision", "batch"]].copy()
        view["latency"] = df["latency_s"].map(lambda v: "does not fit" if v != v else format_si(v, "s"))
        view[f"throughput [{_rate_unit(args.model)}]"] = df["throughput_samples_s"].map(
            lambda v: "" if v != v else f"{v:,.1f}")
        view["bound"] = df["bound"]
        view["memory"] = df["memory_needed_bytes"].map(lambda v: format_si(v, "B"))
        view["fits memory"] = df["fits_in_memory"]
        _print_frame(view, "table")
    else:
        _print_frame(df, args.format)
    return 0


def _rate_unit(model) -> str:
    """Samples per second in the model's own words (img/s, seq/s)."""
    from .plaster import throughput_unit

    return throughput_unit(model)


@_command("best-batch")
def _best_batch(args) -> int:
    import plaster_model as pm

    r = pm.best_batch(args.model, args.device, latency_budget=args.budget, precision=args.precision,
                      calibration=_calibration(args))
    _print_result(r, args.format)
    return 0


@_command("plaster")
def _plaster(args) -> int:
    import plaster_model as pm

    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    df = pm.plaster_report(args.model, devices, latency_budget=args.budget,
                           precision=precisions if len(precisions) > 1 else precisions[0],
                           calibration=_calibration(args))
    if args.format == "table":
        from .plaster import compact_table

        _print_frame(compact_table(df), "table")
    else:
        _print_frame(df, args.format)
    return 0


@_command("sweep")
def _sweep(args) -> int:
    import plaster_model as pm

    split = lambda v: [x.strip() for x in v.split(",") if x.strip()] if v else None  # noqa: E731
    df = pm.sweep(models=split(args.models), devices=split(args.devices),
                  n_devices=[int(x) for x in split(args.n_devices)],
                  interconnects=split(args.interconnects),
                  batch_per_device=[float(x) for x in split(args.batch_per_device)],
                  precisions=split(args.precisions), algorithms=split(args.algorithms) or "auto",
                  devices_per_node=args.devices_per_node, intra_node=args.intra_node,
                  allow_oversubscribed=args.allow_oversubscribed)
    if args.pareto:
        df = pm.pareto(df)
    if args.format == "table":
        cols = ["model", "device", "n_devices", "interconnect", "batch_per_device", "precision", "algorithm",
                "iteration_time_s", "throughput_samples_s", "bound", "fits_memory"]
        view = df[[c for c in cols if c in df.columns]].copy()
        view["iteration_time_s"] = view["iteration_time_s"].map(lambda v: "does not fit" if v != v else f"{v:.4g}")
        _print_frame(view, "table")
    else:
        _print_frame(df, args.format)
    return 0


@_command("devices")
def _devices(args) -> int:
    import plaster_model as pm

    df = pm.list_devices()
    if args.format == "table":
        view = df.copy()
        for col in [c for c in view.columns if c.endswith("_flops")]:
            view[col] = view[col].map(_fmt_flops)
        view["memory"] = (view.pop("memory_bytes") / 1e9).map(lambda v: f"{v:.3g} GB")
        view["bandwidth"] = (view.pop("memory_bandwidth_Bps") / 1e9).map(lambda v: f"{v:.4g} GB/s")
        view["power"] = view.pop("power_w").map(lambda v: f"{v:.0f} W" if v == v else "not published")
        keep = ["name", "kind"] + [c for c in view.columns if c.endswith("_flops")] + ["memory", "bandwidth", "power"]
        _print_frame(view, "table", keep + (["source"] if args.sources else []))
    else:
        _print_frame(df, args.format)
    return 0


@_command("models")
def _models(args) -> int:
    import plaster_model as pm

    df = pm.list_models()
    if args.format == "table":
        view = df.copy()
        view["fwd_GFLOP"] = (view["fwd_flops"] / 1e9).round(3)
        view["fwd_GMAC"] = (view["fwd_macs"] / 1e9).round(3)
        _print_frame(view, "table", ["name", "task", "params", "fwd_GFLOP", "fwd_GMAC", "flop_convention"]
                     + (["source"] if args.sources else []))
    else:
        _print_frame(df, args.format)
    return 0


@_command("interconnects")
def _interconnects(args) -> int:
    import plaster_model as pm

    df = pm.list_interconnects()
    if args.format == "table":
        view = df.copy()
        view["bandwidth"] = (view["bandwidth_Bps"] / 1e9).map(lambda v: f"{v:.4g} GB/s")
        view["latency"] = (view["latency_s"] * 1e6).map(lambda v: f"{v:.3g} us")
        _print_frame(view, "table", ["name", "scope", "bandwidth", "links", "encoding", "latency"]
                     + (["source"] if args.sources else []))
    else:
        _print_frame(df, args.format)
    return 0


@_command("systems")
def _systems(args) -> int:
    import plaster_model as pm

    _print_frame(pm.list_systems(), args.format,
                 None if args.format != "table" else
                 ["name", "device", "devices_per_node", "intra_node", "interconnect", "nics_per_node"])
    return 0


@_command("catalog")
def _catalog(args) -> int:
    """``catalog upgrade FILE... [--in-place]``: rename deprecated YAML keys."""
    from .catalog.upgrade import upgrade_file

    if not args.in_place and len(args.files) != 1:
        raise SystemExit("plaster-model: error: give one FILE (the upgraded text goes to stdout), "
                         "or --in-place to rewrite several")
    for path in args.files:
        text, n = upgrade_file(path, in_place=args.in_place)
        if not args.in_place:
            sys.stdout.write(text)
        print(f"plaster-model: {path}: {n} deprecated key(s) renamed"
              + (" in place" if args.in_place and n else ""), file=sys.stderr)
    return 0


@_command("serve")
def _serve(args) -> int:
    try:
        from . import web  # lazy: the core CLI never needs the "web" extra
        web.require_panel()
    except ImportError as exc:
        print(f"plaster-model: error: {exc}", file=sys.stderr)
        return 2
    if args.serve_catalogs:
        import plaster_model as pm
        pm.load_catalog(list(args.catalog) + list(args.serve_catalogs))
    web.serve(port=args.port, host=args.host, show=not args.no_browser, calibration=args.calibration,
              **({"allow_websocket_origin": args.allow_websocket_origin} if args.allow_websocket_origin else {}))
    return 0


def _cluster_arguments(p) -> None:
    p.add_argument("--model", required=True, help="zoo model name, e.g. ResNet-50")
    p.add_argument("--device", help="device name, e.g. V100")
    p.add_argument("--devices", type=int, default=None,
                   help="number of devices in all (default 1; with --system, instead of --nodes)")
    p.add_argument("--devices-per-node", type=int, default=None,
                   help="devices per node (default 1: --devices 8 alone is 8 one-GPU nodes)")
    p.add_argument("--intra-node", help="link inside a node, e.g. 'NVLink 2' (overrides a --system's)")
    p.add_argument("--interconnect", help="network between nodes, e.g. 'InfiniBand EDR' (overrides a --system's)")
    p.add_argument("--nics-per-node", type=int, default=None, help="network ports per node (default 1)")
    p.add_argument("--system", help="catalog system instead of --device, e.g. 'DGX-1 (V100)'")
    p.add_argument("--nodes", type=int, default=None, help="number of systems (with --system; default 1)")
    p.add_argument("--precision", default=None,
                   help="fp32, fp16, bf16, ... (default fp32; bf16 for a plan given with --tp/--pp/...)")
    p.add_argument("--scaling", default="weak", choices=["weak", "strong"])
    p.add_argument("--algorithm", default=None, help="all-reduce algorithm (default: the library's)")


def _common(p) -> None:
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--allow-oversubscribed", action="store_true",
                   help="answer a configuration that does not fit in device memory (default: refuse)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plaster-model",
        description="Predict deep-learning training and inference performance on a cluster.")
    parser.add_argument("--catalog", action="append", default=[], metavar="YAML",
                        help="user catalog YAML merged over the bundled one (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="predict training time for a model on a cluster")
    _cluster_arguments(p)
    p.add_argument("--batch-per-device", type=float, default=None,
                   help="samples per device per iteration (default 32, stated in the output)")
    p.add_argument("--dataset", default="ImageNet-1k", help="dataset name or number of samples")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--efficiency", type=float, default=None, help="fraction of peak (default: the per-operator roofline bound, or the calibration's)")
    from .parallel.cli import add_plan_flags
    add_plan_flags(p)
    _common(p)

    p = sub.add_parser("bandwidth", help="is the interconnect the bottleneck? (bandwidth verdict)")
    _cluster_arguments(p)
    p.add_argument("--batch-per-device", type=float, default=32.0, help="samples per device (default 32)")
    p.add_argument("--efficiency", type=float, default=None, help="fraction of peak (default: the per-operator roofline bound, or the calibration's)")
    _common(p)

    p = sub.add_parser("inference", help="inference latency and throughput versus batch on one device")
    p.add_argument("--model", required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--batches", default="1,2,4,8,16,32,64,128", help="batch sizes, comma-separated")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--allow-oversubscribed", action="store_true",
                   help="show times for batches that do not fit in device memory")

    p = sub.add_parser("best-batch", help="the largest inference batch within a latency budget")
    p.add_argument("--model", required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--budget", default="7 ms", help="latency budget (default '7 ms')")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])

    p = sub.add_parser("plaster", help="PLASTER scorecard of a model on devices")
    p.add_argument("--model", required=True)
    p.add_argument("--devices", required=True, help="comma-separated devices, e.g. V100,T4")
    p.add_argument("--budget", default="7 ms", help="latency budget (default '7 ms')")
    p.add_argument("--precision", default="fp32", help="precision(s), comma-separated, e.g. fp32,fp16,int8")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])

    p = sub.add_parser("sweep", help="data-parallel training over a cross product of designs")
    p.add_argument("--models", required=True, help="comma-separated zoo models")
    p.add_argument("--devices", required=True, help="comma-separated devices")
    p.add_argument("--n-devices", required=True, help="comma-separated device counts")
    p.add_argument("--interconnects", default=None, help="comma-separated networks between nodes")
    p.add_argument("--batch-per-device", default="32", help="comma-separated batches (default 32)")
    p.add_argument("--precisions", default="fp32", help="comma-separated precisions")
    p.add_argument("--algorithms", default="auto", help="comma-separated all-reduce algorithms")
    p.add_argument("--devices-per-node", type=int, default=1)
    p.add_argument("--intra-node", default=None)
    p.add_argument("--pareto", action="store_true", help="keep the Pareto front (time against cost)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--allow-oversubscribed", action="store_true",
                   help="keep the times of rows that do not fit in device memory")

    for name, text in (("devices", "list catalog devices"), ("models", "list zoo models"),
                       ("interconnects", "list interconnects"), ("systems", "list systems")):
        q = sub.add_parser(name, help=text)
        q.add_argument("--format", default="table", choices=["table", "csv", "json"])
        q.add_argument("--sources", action="store_true", help="show the source column")

    p = sub.add_parser("catalog", help="catalog file tools: 'catalog upgrade FILE' renames deprecated keys")
    csub = p.add_subparsers(dest="catalog_command", required=True)
    q = csub.add_parser("upgrade", help="rename deprecated YAML keys (memory -> memory_bytes, power -> power_w, "
                                        "latency -> latency_s), keeping comments and values")
    q.add_argument("files", nargs="+", metavar="FILE", help="catalog YAML file(s)")
    q.add_argument("--in-place", action="store_true", help="rewrite the file(s) instead of printing the result")

    p = sub.add_parser("serve", help="serve the web performance guide on this machine (needs the 'web' extra)")
    p.add_argument("--port", type=int, default=5006, help="TCP port (default 5006)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--catalog", dest="serve_catalogs", nargs="+", default=[], metavar="YAML",
                   help="user catalog YAML files merged over the bundled one")
    p.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="also answer pages reached under this host name (default: this machine only)")

    from .parallel.cli import add_train_plan_parser  # LLM parallel plans: train-plan
    add_train_plan_parser(sub, _command)
    from .serving.cli import add_serve_plan_parser  # LLM serving registers its own sub-command
    add_serve_plan_parser(sub, _command)
    try:  # calibration registers its own sub-command when present
        from .calibration.cli import add_calibrate_parser
        add_calibrate_parser(sub, _command)
    except ImportError:
        pass
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr: no source path, no code line, no class name."""
    text = " ".join(str(message).split())
    print(f"plaster-model: warning: {text}", file=sys.stderr if file is None else file)


def main(argv=None) -> int:
    """Entry point of the ``plaster-model`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("predict", "bandwidth") and args.precision is None:
        from .parallel.cli import plan_flags_given
        args.precision = "bf16" if plan_flags_given(args) else "fp32"
    if args.command == "predict":
        args.batch_per_device_default = args.batch_per_device is None
        if args.batch_per_device is None:
            args.batch_per_device = 32.0
        if args.dataset.replace("_", "").replace(",", "").isdigit():
            args.dataset = int(args.dataset.replace("_", "").replace(",", ""))
    import warnings

    import plaster_model as pm

    warnings.showwarning = _one_line_warning
    # the library's own deprecations (old catalog keys, ...) are shown, not filtered out
    warnings.filterwarnings("default", category=DeprecationWarning, module="plaster_model")
    try:
        if args.catalog:
            pm.load_catalog(args.catalog)
        rc = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at exit
        return rc
    except BrokenPipeError:
        # the reader (``| head``) went away: the standard recipe of the Python docs (signal
        # module, "Note on SIGPIPE"): point stdout at devnull so the interpreter's final flush
        # is quiet, and exit as a process killed by SIGPIPE would (128 + 13)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (pm.PlasterError, OSError, KeyError, ValueError, TypeError) as exc:
        # a user's mistake (missing file, unknown name, bad value): one line, no traceback
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
            msg = f"{exc.strerror}: {exc.filename}"
        if isinstance(exc, pm.MemoryFitError):  # the command line's name for the way out
            msg = str(msg).replace("allow_oversubscribed=True", "--allow-oversubscribed")
        print(f"plaster-model: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
