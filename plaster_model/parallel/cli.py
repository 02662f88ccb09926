"""``plaster-model train-plan``: predict one parallel plan, or list the best plans of a cluster."""
from __future__ import annotations

__all__ = ["add_train_plan_parser", "add_plan_flags", "plan_flags_given", "predict_plan"]

#: ``predict`` flags that route a transformer to the plan predictor (``dest`` names).
PREDICT_PLAN_FLAGS = ("tp", "pp", "dp", "cp", "ep", "zero", "micro_batch", "global_batch", "seq_len", "recompute")


def add_plan_flags(p) -> None:
    """The parallel-plan flags of ``plaster-model predict`` (any of them routes the model,
    a zoo transformer, to :func:`plaster_model.predict_llm_training`)."""
    g = p.add_argument_group("LLM parallel plan (a transformer; any of these predicts with "
                             "plaster_model.predict_llm_training)")
    for flag, text in (("tp", "tensor-parallel size"), ("pp", "pipeline stages"),
                       ("dp", "data-parallel replicas (default: the devices left)"),
                       ("cp", "context-parallel size"), ("ep", "expert-parallel size"),
                       ("zero", "ZeRO stage 0-3"), ("micro-batch", "sequences per micro-batch"),
                       ("global-batch", "sequences per optimizer step"),
                       ("seq-len", "tokens per sequence (default: the model's)")):
        g.add_argument(f"--{flag}", type=int, default=None, help=text)
    g.add_argument("--recompute", choices=["none", "selective", "full"], default=None,
                   help="activation recomputation")


def plan_flags_given(args) -> bool:
    """Whether any parallel-plan flag was given on ``predict``."""
    return any(getattr(args, k, None) is not None for k in PREDICT_PLAN_FLAGS)


def predict_plan(args, cluster, calibration=None) -> int:
    """``plaster-model predict --tp ...``: one plan of a transformer on the cluster,
    printed as the prediction's summary (table) or its ``to_frame()`` (csv/json)."""
    import plaster_model as pm
    from ..cli import _print_frame

    model = pm.load_model(args.model) if isinstance(args.model, str) else args.model
    if getattr(model, "transformer", None) is None:
        raise pm.ParameterError("--model", args.model, "a zoo transformer with --tp/--pp/--dp/... "
                                "(the parallel-plan flags); drop them for data-parallel training")
    given = {k: getattr(args, k) for k in ("tp", "pp", "dp", "cp", "ep", "zero", "micro_batch", "recompute")
             if getattr(args, k) is not None}
    plan = pm.ParallelPlan(**given, global_batch=args.global_batch)
    pred = pm.predict_llm_training(model, cluster, plan, seq_len=args.seq_len, precision=args.precision,
                                   calibration=calibration, check_memory=not args.allow_oversubscribed)
    if args.format == "table":
        print(pred)
    else:
        _print_frame(pred.to_frame(), args.format)
    return 0

_PLAN_FLAGS = ("tp", "pp", "cp", "ep", "zero", "micro_batch", "virtual_stages", "recompute", "sp")


def _cluster(args):
    import plaster_model as pm

    if args.system:
        return pm.Cluster.from_system(args.system, n_nodes=args.nodes, n_devices=args.devices,
                                      intra_node=args.intra_node, interconnect=args.interconnect)
    if not args.device:
        raise pm.ParameterError("--device", None, "a device (or --system)")
    return pm.Cluster(device=args.device, n_devices=args.devices or 1, devices_per_node=args.devices_per_node or 1,
                      intra_node=args.intra_node, interconnect=args.interconnect,
                      nics_per_node=args.nics_per_node or 1)


def _train_plan(args) -> int:
    import plaster_model as pm
    from ..cli import _print_frame

    cal = pm.calibration.Calibration.load(args.calibration) if args.calibration else None
    cluster = _cluster(args)
    given = {k: getattr(args, k) for k in _PLAN_FLAGS if getattr(args, k) not in (None, False)}
    if not given:  # no layout asked: search
        df = pm.best_plans(args.model, cluster, global_batch=args.global_batch, seq_len=args.seq_len,
                           precision=args.precision, top=args.top, calibration=cal)
        if args.format == "table":
            view = df.copy()
            view["memory_GB"] = (view.pop("memory_per_device_bytes") / 1e9).round(1)
            view["mfu"] = (100 * view["mfu"]).round(1)
            print(f"{df.attrs['n_feasible']:,} of {df.attrs['n_plans']:,} plans fit; the fastest "
                  f"(MFU in %):")
            _print_frame(view, "table", ["plan", "micro_batch", "time_per_iter_s", "throughput_tokens_s",
                                         "tflops_per_device", "mfu", "memory_GB", "binding"])
        else:
            _print_frame(df, args.format)
        return 0
    plan = pm.ParallelPlan(**given, global_batch=args.global_batch)
    pred = pm.predict_llm_training(args.model, cluster, plan, seq_len=args.seq_len, precision=args.precision,
                                   calibration=cal, tokens=args.tokens, check_memory=not args.allow_oversubscribed)
    if args.format == "table":
        print(pred)
    else:
        _print_frame(pred.to_frame(), args.format)
    return 0


def add_train_plan_parser(sub, command) -> None:
    """Register ``train-plan`` on the CLI's sub-parsers (``command`` is the CLI's registrar)."""
    p = sub.add_parser("train-plan", help="LLM training under a parallel plan (tp/pp/dp/...), or the best plans")
    p.add_argument("--model", required=True, help="zoo transformer, e.g. 'Llama-3.1-70B'")
    p.add_argument("--system", help="catalog system, e.g. 'DGX H100'")
    p.add_argument("--nodes", type=int, default=None, help="number of systems")
    p.add_argument("--devices", type=int, default=None, help="devices in all (instead of --nodes)")
    p.add_argument("--device", help="device instead of --system")
    p.add_argument("--devices-per-node", type=int, default=None)
    p.add_argument("--intra-node", default=None)
    p.add_argument("--interconnect", default=None)
    p.add_argument("--nics-per-node", type=int, default=None)
    p.add_argument("--global-batch", type=int, required=True, help="sequences per optimizer step")
    p.add_argument("--seq-len", type=int, default=2048, help="tokens per sequence (default 2048)")
    p.add_argument("--precision", default="bf16", help="bf16, fp16, fp8, fp4, fp32 (default bf16)")
    for flag in ("tp", "pp", "cp", "ep", "zero", "micro-batch", "virtual-stages"):
        p.add_argument(f"--{flag}", type=int, default=None)
    p.add_argument("--sp", action="store_true", help="sequence parallelism")
    p.add_argument("--recompute", choices=["none", "selective", "full"], default=None)
    p.add_argument("--tokens", type=float, default=None, help="training tokens: adds the time to train")
    p.add_argument("--top", type=int, default=10, help="plans listed by the search (no --tp/--pp/...)")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate'")
    p.add_argument("--allow-oversubscribed", action="store_true",
                   help="answer a plan that does not fit in device memory (with a warning)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    command("train-plan")(_train_plan)
