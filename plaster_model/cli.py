"""Command line: ``plaster-model predict|devices|models|interconnects|systems|calibrate|serve``."""
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


@_command("predict")
def _predict(args) -> int:
    import plaster_model as pm

    calibration = None
    if args.calibration:
        calibration = pm.calibration.Calibration.load(args.calibration)
    if args.system:
        if args.device or args.devices_per_node is not None:
            raise pm.ParameterError("--system", args.system, "a catalog system without --device or "
                                    "--devices-per-node (the system fixes both)")
        # a system sized in nodes (--nodes) or in devices (--devices); links may be overridden
        cluster = pm.Cluster.from_system(args.system, n_nodes=args.nodes, n_devices=args.devices,
                                         intra_node=args.intra_node, interconnect=args.interconnect,
                                         nics_per_node=args.nics_per_node)
    else:
        if not args.device:
            raise SystemExit("error: give --device (or --system)")
        cluster = pm.Cluster(device=args.device, n_devices=args.devices or 1,
                             devices_per_node=args.devices_per_node or 1, intra_node=args.intra_node,
                             interconnect=args.interconnect, nics_per_node=args.nics_per_node or 1)
    # --algorithm unset: the library's default, so the CLI and Python predict the same job
    extra = {} if args.algorithm is None else {"algorithm": args.algorithm}
    pred = pm.predict_epoch_time(args.model, cluster, dataset=args.dataset, epochs=args.epochs,
                                 batch_per_device=args.batch_per_device, precision=args.precision,
                                 scaling=args.scaling, calibration=calibration,
                                 efficiency=args.efficiency, **extra)
    if args.format == "table":
        print(pred)
        if args.batch_per_device_default:
            print(f"  - batch per device {args.batch_per_device:g} is the CLI default (--batch-per-device)")
    else:
        _print_frame(pred.to_frame(), args.format)
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
        view["power"] = view.pop("power_w").map(lambda v: f"{v:.0f} W")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plaster-model",
        description="Predict deep-learning training and inference performance on a cluster.")
    parser.add_argument("--catalog", action="append", default=[], metavar="YAML",
                        help="user catalog YAML merged over the bundled one (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="predict training time for a model on a cluster")
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
    p.add_argument("--batch-per-device", type=float, default=None,
                   help="samples per device per iteration (default 32, stated in the output)")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--scaling", default="weak", choices=["weak", "strong"])
    p.add_argument("--algorithm", default=None, help="all-reduce algorithm (default: the library's)")
    p.add_argument("--dataset", default="ImageNet-1k", help="dataset name or number of samples")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--efficiency", type=float, default=None, help="fraction of peak (default 1.0)")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])

    for name, text in (("devices", "list catalog devices"), ("models", "list zoo models"),
                       ("interconnects", "list interconnects"), ("systems", "list systems")):
        q = sub.add_parser(name, help=text)
        q.add_argument("--format", default="table", choices=["table", "csv", "json"])
        q.add_argument("--sources", action="store_true", help="show the source column")

    p = sub.add_parser("serve", help="serve the web performance guide on this machine (needs the 'web' extra)")
    p.add_argument("--port", type=int, default=5006, help="TCP port (default 5006)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--catalog", dest="serve_catalogs", nargs="+", default=[], metavar="YAML",
                   help="user catalog YAML files merged over the bundled one")
    p.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="also answer pages reached under this host name (default: this machine only)")

    try:  # calibration registers its own sub-command when present
        from .calibration.cli import add_calibrate_parser
        add_calibrate_parser(sub, _command)
    except ImportError:
        pass
    return parser


def main(argv=None) -> int:
    """Entry point of the ``plaster-model`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "predict":
        args.batch_per_device_default = args.batch_per_device is None
        if args.batch_per_device is None:
            args.batch_per_device = 32.0
        if args.dataset.replace("_", "").replace(",", "").isdigit():
            args.dataset = int(args.dataset.replace("_", "").replace(",", ""))
    import plaster_model as pm

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
        print(f"plaster-model: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
