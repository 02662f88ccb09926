"""The ``plaster-model calibrate`` sub-command.

``plaster-model calibrate LOGS... -o calib.yaml`` reads measurement files (trtexec logs,
DLBS logs, onnxruntime profiles, CSV tables; files, directories or globs), fits a
:class:`~plaster_model.Calibration`, prints the fitted table and the in-sample error
(median and 90th-percentile absolute % error per metric) and writes the calibration, which
``plaster-model predict ... --calibration calib.yaml`` then uses.
"""
from __future__ import annotations

import sys

__all__ = ["add_calibrate_parser", "run_calibrate"]


def add_calibrate_parser(subparsers, register) -> None:
    """Add ``calibrate`` to the CLI's sub-parsers; ``register(name)`` decorates its handler."""
    p = subparsers.add_parser(
        "calibrate", help="fit efficiency factors to measured runs (logs, CSV tables)",
        description="Fit the estimators' efficiency factors to measured runs and write them to a "
                    "YAML/JSON file for 'plaster-model predict --calibration'.")
    p.add_argument("logs", nargs="+", metavar="LOGS",
                   help="measurement files, directories or glob patterns")
    p.add_argument("-o", "--output", help="calibration file to write (.yaml/.yml or .json)")
    p.add_argument("--n-bootstrap", type=int, default=50, help="bootstrap refits (default 50; 0: Jacobian)")
    p.add_argument("--interval", type=float, default=0.9, help="interval coverage (default 0.9)")
    p.add_argument("--by-framework", action="store_true", help="separate groups per framework")
    p.add_argument("--per", default="device_precision", choices=["device_precision", "device_precision_model"])
    p.add_argument("--no-model-factors", action="store_true", help="do not fit per-model factors")
    p.add_argument("--algorithm", default="auto",
                   help="all-reduce of multi-device rows: auto (each row's backend, the default) or one "
                        "serial algorithm for all (tree, ring, halving_doubling)")
    p.add_argument("--device", help="device name for files that do not name one")
    p.add_argument("--batch", type=int, help="batch size for files that do not reveal it")
    p.add_argument("--model-map", action="append", default=[], metavar="NAME=ZOO",
                   help="the zoo model a model name of the logs means (repeatable), e.g. "
                        "--model-map resnet50_bs_dynamic='ResNet-50 v1.5'; names without one are "
                        "mapped by the documented rule (plaster_model.catalog.names.resolve_model)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"],
                   help="how to print the fitted table")
    register("calibrate")(run_calibrate)


def run_calibrate(args) -> int:
    import plaster_model as pm

    model_map = {}
    for item in args.model_map:
        name, sep, zoo = item.partition("=")
        if not sep or not name.strip() or not zoo.strip():
            raise SystemExit(f"plaster-model calibrate: --model-map expects NAME=ZOO, got {item!r}")
        model_map[name.strip()] = zoo.strip()
    df = pm.read_measurements(list(args.logs), device=args.device, batch=args.batch,
                              model_map=model_map or None)
    for path, msg in df.attrs.get("failed", []):
        print(f"plaster-model: warning: could not read {path}: {msg}", file=sys.stderr)
    cal = pm.Calibration(per=args.per, by_framework=args.by_framework, n_bootstrap=args.n_bootstrap,
                         interval=args.interval, random_state=args.seed,
                         model_factors=not args.no_model_factors, algorithm=args.algorithm).fit(df)
    if args.format == "table":
        print(cal.summary())
    elif args.format == "csv":
        cal.params_.to_csv(sys.stdout, index=False)
    else:
        print(cal.params_.to_json(orient="records", indent=2))
    if args.output:
        cal.save(args.output)
        print(f"wrote {args.output} ({cal.n_rows_} rows fitted, {len(cal.groups_)} groups)",
              file=sys.stderr if args.format != "table" else sys.stdout)
    return 0
