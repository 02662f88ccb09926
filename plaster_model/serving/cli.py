"""``plaster-model serve-plan``: the best LLM serving layouts within TTFT/TPOT budgets, or one
configuration's prediction (``--tp``)."""
from __future__ import annotations

__all__ = ["add_serve_plan_parser"]


def add_serve_plan_parser(subparsers, register) -> None:
    """Add ``serve-plan`` to the CLI's sub-parsers; ``register(name)`` decorates its handler."""
    p = subparsers.add_parser(
        "serve-plan", help="LLM serving: Pareto front of tokens/s per GPU vs per user within budgets",
        description="Search layouts, precisions and concurrencies of an LLM on N GPUs and print the "
                    "Pareto front of tokens/s per GPU against tokens/s per user within the TTFT/TPOT "
                    "budgets; with --tp, predict that one configuration instead.")
    p.add_argument("--model", required=True, help="zoo LLM, e.g. Llama-3.1-70B")
    p.add_argument("--device", required=True, help="GPU (its catalog server gives the links), e.g. H200")
    p.add_argument("--gpus", type=int, default=8, help="GPUs to deploy on (default 8)")
    p.add_argument("--input-len", type=int, default=1024, help="prompt tokens (default 1024)")
    p.add_argument("--output-len", type=int, default=1024, help="generated tokens (default 1024)")
    p.add_argument("--ttft-ms", type=float, default=None, help="TTFT budget [ms]")
    p.add_argument("--tpot-ms", type=float, default=None, help="TPOT budget [ms]")
    p.add_argument("--precision", action="append", default=None,
                   help="precision(s) to search (repeatable; default bf16, fp8, fp4)")
    p.add_argument("--engine", default=None, help="TensorRT-LLM, vLLM or SGLang (default: shared values)")
    p.add_argument("--calibration", help="calibration file from 'plaster-model calibrate' on serving rows")
    p.add_argument("--tp", type=int, default=None, help="predict one configuration with this TP size")
    p.add_argument("--pp", type=int, default=1)
    p.add_argument("--ep", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=1, help="requests in flight (with --tp)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])

    @register("serve-plan")
    def _serve_plan(args):
        import plaster_model as pm
        cal = pm.Calibration.load(args.calibration) if args.calibration else None
        if args.tp is not None:
            r = pm.predict_serving(args.model, args.device, tp=args.tp, pp=args.pp, ep=args.ep,
                                   precision=(args.precision or ["bf16"])[0], input_len=args.input_len,
                                   output_len=args.output_len, concurrency=args.concurrency,
                                   engine=args.engine, calibration=cal)
            df = r.to_frame()
            if args.format == "table":
                print(r)
                for a in r.assumptions:
                    print(f"  assumption: {a}")
                return 0
        else:
            df = pm.best_serving(args.model, args.device, n_devices=args.gpus,
                                 ttft_budget=None if args.ttft_ms is None else args.ttft_ms / 1e3,
                                 tpot_budget=None if args.tpot_ms is None else args.tpot_ms / 1e3,
                                 input_len=args.input_len, output_len=args.output_len,
                                 precisions=tuple(args.precision or ("bf16", "fp8", "fp4")),
                                 engine=args.engine, calibration=cal)
            df = df.drop(columns=["fits"])
        if args.format == "csv":
            print(df.to_csv(index=False), end="")
        elif args.format == "json":
            print(df.to_json(orient="records", indent=1))
        else:
            print(df.to_string(index=False))
        return 0
