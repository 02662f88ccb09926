"""Speed of the serving predictor: vectorized configurations per second, and best_serving's search.

Acceptance (issue 24): ``serving_sweep`` >= 100,000 configurations/s; ``best_serving`` for a
70B model over 8 GPUs in under a second. Also the serving fit on the shared rows (issue 22:
``pm.calibrate`` of the whole shared folder within 10 s), in CPU seconds, since the machine's
wall clock is shared.

Usage: ``python benchmarks/bench_serving.py``
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import plaster_model as pm  # noqa: E402


def main():
    n = 200_000
    rng = np.random.default_rng(0)
    tp = rng.choice([1, 2, 4, 8], n)
    conc = rng.choice(2 ** np.arange(0, 11), n)
    isl = rng.choice([128, 1024, 4096, 8192], n)
    osl = rng.choice([128, 1024, 8192], n)
    pm.serving_sweep("Llama-3.1-70B", "H200", tp=tp[:10], concurrency=conc[:10], precision="fp8")  # warm
    best = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = pm.serving_sweep("Llama-3.1-70B", "H200", tp=tp, concurrency=conc, input_len=isl, output_len=osl,
                               precision="fp8", as_frame=False)
        best.append(time.perf_counter() - t0)
    rate = n / min(best)
    print(f"serving_sweep: {n:,} configurations in {min(best):.3f} s = {rate:,.0f} configurations/s "
          f"({int(res['fits'].sum()):,} fit memory)")
    moe = rng.choice([1, 2, 4, 8], n)
    t0 = time.perf_counter()
    pm.serving_sweep("DeepSeek-V3", "B200", tp=8, ep=moe, concurrency=conc, input_len=isl, output_len=osl,
                     precision="fp4", as_frame=False)
    dt = time.perf_counter() - t0
    print(f"serving_sweep (DeepSeek-V3, MoE): {n / dt:,.0f} configurations/s")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        front = pm.best_serving("Llama-3.1-70B", "H200", n_devices=8, tpot_budget=0.05, ttft_budget=2.0)
        times.append(time.perf_counter() - t0)
    print(f"best_serving(Llama-3.1-70B, 8 x H200): {min(times):.3f} s, {front.attrs['evaluated']:,} "
          f"configurations, front of {len(front)}")
    t0 = time.perf_counter()
    front = pm.best_serving("DeepSeek-V3", "B200", n_devices=8, tpot_budget=0.05)
    print(f"best_serving(DeepSeek-V3, 8 x B200): {time.perf_counter() - t0:.3f} s, "
          f"{front.attrs['evaluated']:,} configurations, front of {len(front)}")
    rows = Path(__file__).resolve().parents[2] / "shared" / "data" / "llm_inference" / "serving_sample.csv"
    if rows.is_file():
        from plaster_model.calibration.serving import fit_serving
        df = pm.read_measurements(rows)
        fit_serving(df.head(400))  # imports and catalogs loaded once, as inside pm.calibrate
        cpu = []
        for _ in range(3):
            c0 = time.process_time()
            cal = fit_serving(df)
            cpu.append(time.process_time() - c0)
        print(f"fit_serving on the shared rows: {min(cpu):.2f} s CPU, {cal.n_rows:,} measurements")


if __name__ == "__main__":
    main()
