"""How fast ``pm.best_plans`` searches: plans evaluated per second, and GPT-3 175B on 1,024 A100.

The issue's bar: ≥ 10^6 plans/s (Calculon's search did not finish in 14 minutes for a 64-GPU
space), and the best plan of GPT-3 175B on 1,024 A100 found in under a second, with its MFU.

Run from the repository root::

    PYTHONPATH=. python benchmarks/best_plans_speed.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import plaster_model as pm  # noqa: E402
from plaster_model.parallel.search import candidate_plans, evaluate_plans  # noqa: E402
from plaster_model.parallel.step import model_terms  # noqa: E402


def rate(model="GPT-3 175B", system="DGX A100 640GB", nodes=128, n=2_000_000, repeat=3):
    """Plans per second of the vectorized evaluation (a space tiled to ``n`` plans)."""
    m = pm.load_model(model)
    c = pm.Cluster.from_system(system, n_nodes=nodes)
    base = candidate_plans(c.n_devices, m.transformer, 1536, 2048)
    width = base["zero"].shape[1]  # ZeRO × recompute per layout
    reps = -(-n // (base["tp"].shape[0] * width))
    # the layouts repeated down axis 0 until the grid holds n plans (the search's own layout)
    plans = {k: (np.tile(v, (reps, 1)) if v.shape[0] > 1 else v) for k, v in base.items()}
    n_plans = plans["tp"].shape[0] * width
    terms = vars(model_terms(m.transformer))
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = evaluate_plans(terms, c, plans, 2048, "bf16")
        best = min(best, time.perf_counter() - t0)
    return n_plans / best, n_plans, int(np.sum(out["fits_memory"]))


def gpt3_on_1024_a100():
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=128)
    pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, top=1)  # warm the imports and caches
    t0 = time.perf_counter()
    df = pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, top=5)
    return time.perf_counter() - t0, df


if __name__ == "__main__":
    r, n, fits = rate()
    print(f"vectorized evaluation: {r:,.0f} plans/s ({n:,} plans, best of 3)")
    dt, df = gpt3_on_1024_a100()
    print(f"best_plans('GPT-3 175B', 1,024 A100, global batch 1536, seq 2048): {df.attrs['n_plans']:,} plans "
          f"({df.attrs['n_feasible']:,} fit) in {dt:.3f} s")
    print(df[["plan", "micro_batch", "time_per_iter_s", "tflops_per_device", "mfu", "memory_per_device_bytes",
              "binding"]].to_string(index=False))
