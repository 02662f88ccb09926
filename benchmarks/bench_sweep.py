"""Throughput of pm.sweep against a Python loop over pm.predict_training and against a plain
numpy kernel producing the same columns, memory per million rows, a 10^7-configuration
sweep, and a peer tool (llm-analysis) for reference.

Run from the repository root::

    .venv/bin/python benchmarks/bench_sweep.py                 # everything (about a minute)
    .venv/bin/python benchmarks/bench_sweep.py --quick         # smaller grid, no 10^7 run
    .venv/bin/python benchmarks/bench_sweep.py --peer-python /tmp/llm_venv/bin/python

The peer timing needs ``llm-analysis`` in a separate environment (never in the project's)::

    python -m venv /tmp/llm_venv && /tmp/llm_venv/bin/pip install llm-analysis

Every figure is printed as ``name: value`` lines, so docs/performance.md can quote them.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

import plaster_model as pm  # noqa: E402
from plaster_model.catalog.loader import bundled_catalog  # noqa: E402

N_DEVICES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


#: Zoo models and catalog devices in the grid (the first ones of each, catalog order): the
#: whole zoo × every device grew to 160 M rows (15 GB) at 64 batch sizes as the catalogs grew.
GRID_MODELS, GRID_DEVICES = 30, 30


def grid(n_batches: int, precisions=("fp32", "mixed"), whole_catalog=False):
    """The benchmark grid: the first :data:`GRID_MODELS` zoo models (every one with
    ``whole_catalog``) × the first :data:`GRID_DEVICES` catalog devices (every one) × 11 device
    counts × every inter-node network × ``n_batches`` batch sizes × precisions, tree all-reduce."""
    cat = bundled_catalog()
    n_m, n_d = (None, None) if whole_catalog else (GRID_MODELS, GRID_DEVICES)
    return dict(models=list(cat.entries["model"])[:n_m], devices=list(cat.entries["device"])[:n_d],
                n_devices=N_DEVICES,
                interconnects=[n for n, i in cat.entries["interconnect"].items() if i.scope == "inter_node"],
                batch_per_device=list(range(1, n_batches + 1)), precisions=list(precisions), algorithms=["tree"])


def timed(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


def bench_sweep(g, repeat, label, **extra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = pm.sweep_size(**g, **extra)
        df, times = timed(lambda: pm.sweep(**g, **extra, progress=False), repeat)
    med = statistics.median(times)
    print(f"sweep[{label}] rows: {rows:,}")
    print(f"sweep[{label}] time_s (first, median of {repeat}): {times[0]:.3f}, {med:.3f}")
    print(f"sweep[{label}] configs_per_s: {rows / med:,.0f}")
    return df, rows / med


# --------------------------------------------------------------------------- reference kernel
def kernel_numpy(g):
    """THE BENCHMARK'S REFERENCE, not library code: a plain numpy kernel for the tree model.

    It restates the data-parallel tree formula (``T_compute = 3·F·b/γ_peak``,
    ``T_comm = 2·log2(p)·(P·s/β + α)``, ``T_iter = T_compute + T_comm``) so that ``pm.sweep``
    has a yardstick: the same output columns, dtypes and row order as ``pm.sweep(**g)``,
    every intermediate at its broadcast-small shape and each column written once into a
    preallocated array. Only what the benchmark grid needs (weak scaling, tree all-reduce,
    one device per node, peak efficiency, no overhead, no overlap).

    Parameters
    ----------
    g : dict
        A :func:`grid` (the ``--quick`` grid in :func:`bench_kernel`).

    Returns
    -------
    dict of numpy.ndarray
        Column -> values; categorical columns hold the codes ``pm.sweep`` gives them.
    """
    from plaster_model.catalog.loader import active_catalog
    from plaster_model.catalog.objects import BYTES_PER_ELEMENT
    from plaster_model.estimators.data_parallel import TRAINING_FLOPS_FACTOR

    if list(g["algorithms"]) != ["tree"] or g.get("check_memory", True):
        raise ValueError("kernel_numpy models the tree all-reduce only, without the memory check")
    cat = active_catalog()
    models = [cat.get("model", m) for m in g["models"]]
    devices = [cat.get("device", d) for d in g["devices"]]
    inters = [cat.get("interconnect", i) for i in g["interconnects"]]
    precs = list(g["precisions"])
    peaks = {}  # (device, precision) -> peak [FLOP/s]; pairs without a peak are left out
    for jd, d in enumerate(devices):
        for jq, q in enumerate(precs):
            try:
                peaks[jd, jq] = d.peak_flops[d.peak_key(q)]
            except ValueError:
                pass
    wm = np.repeat(np.arange(len(models)), len(peaks))  # workload axis: model × kept pairs
    wd = np.tile([d for d, _ in peaks], len(models))
    wq = np.tile([q for _, q in peaks], len(models))
    ns = np.array(g["n_devices"], dtype=float)
    bs = np.array(g["batch_per_device"], dtype=float)
    shape = (len(wm), len(inters), len(ns), len(bs))  # (workload, network, p, b), b fastest

    def ax(values, axis, dtype=float):
        out = np.asarray(values, dtype=dtype)
        return out.reshape([-1 if k == axis else 1 for k in range(4)])

    fwd = ax([m.fwd_flops for m in models], 0)[wm]
    params = ax([float(m.params) for m in models], 0)[wm]
    gbytes = ax([float(BYTES_PER_ELEMENT[q]) for q in precs], 0)[wq]
    gamma = ax(list(peaks.values()), 0)[np.tile(np.arange(len(peaks)), len(models))]
    p, b = ax(ns, 2), ax(bs, 3)
    multi = p > 1  # one device per node: every p > 1 crosses the network
    beta = np.where(multi, ax([i.bandwidth for i in inters], 1), 1.0)
    alpha = np.where(multi, ax([i.latency_s for i in inters], 1), 0.0)
    t_compute = TRAINING_FLOPS_FACTOR * fwd * b / gamma                               # (W, 1, 1, B)
    t_comm = np.where(multi, 2.0 * np.log2(p) * (params * gbytes / beta + alpha), 0.0)  # (W, I, N, 1)
    pb = p * b

    rows = math.prod(shape)
    cols = {}

    def col(name, dtype=np.float64):
        cols[name] = np.empty(rows, dtype=dtype)
        return cols[name].reshape(shape)

    np.copyto(col("model", np.int8), ax(wm, 0, np.int8))
    np.copyto(col("device", np.int8), ax(wd, 0, np.int8))
    np.copyto(col("n_devices", np.int32), ax(ns, 2, np.int32))
    np.copyto(col("nodes", np.int32), ax(ns, 2, np.int32))
    col("devices_per_node", np.int32).fill(1)
    col("intra_node", np.int8).fill(-1)  # no intra-node link: NaN in the categorical
    np.copyto(col("interconnect", np.int8), ax(np.arange(len(inters)), 1, np.int8))
    np.copyto(col("link", np.int8), np.where(multi, ax(np.arange(len(inters)), 1, np.int8), -1).astype(np.int8))
    np.copyto(col("batch_per_device"), b)
    np.copyto(col("global_batch"), pb)
    np.copyto(col("precision", np.int8), ax(wq, 0, np.int8))
    col("algorithm", np.int8).fill(0)
    np.copyto(col("compute_time_s"), t_compute)
    np.copyto(col("communication_time_s"), t_comm)
    np.copyto(col("exposed_communication_time_s"), t_comm)
    col("overhead_time_s").fill(0.0)
    t_iter = col("iteration_time_s")
    np.add(t_compute, t_comm, out=t_iter)
    np.divide(pb, t_iter, out=col("throughput_samples_s"))
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(t_comm, t_compute, out=col("comm_to_compute_ratio"))
    np.greater(t_comm, t_compute, out=col("bound", np.int8))  # codes: 0 compute, 1 communication
    return cols


def _column_values(df, name):
    """A sweep column as numpy: the codes of a categorical, else the values."""
    s = df[name]
    return s.cat.codes.to_numpy() if s.dtype == "category" else s.to_numpy()


def bench_kernel(g, repeat):
    """pm.sweep against :func:`kernel_numpy` on the same grid, timed alternately in this process.

    First checks that the kernel is an honest yardstick: the same columns, in the same
    order, with the same dtypes and values (``np.allclose``, relative 1e-12) as the sweep.
    The kernel has no memory check, so the sweep runs without it here (``check_memory=False``:
    no ``fits_memory`` column, no rows blanked); ``sweep[...]`` above times it with the check.
    """
    g = dict(g, check_memory=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = pm.sweep(**g, progress=False)
        cols = kernel_numpy(g)
        n = len(df)
        differ = [c for c in df.columns if c not in cols] + [
            c for c, arr in cols.items()
            if _column_values(df, c).dtype != arr.dtype
            or not np.allclose(_column_values(df, c), arr, rtol=1e-12, atol=0.0, equal_nan=True)]
        identical = sum(np.array_equal(_column_values(df, c), arr, equal_nan=True) for c, arr in cols.items())
        n_cols = len(cols)
        del df, cols
        if differ:
            raise SystemExit(f"kernel[numpy] is no yardstick: columns {differ} differ from pm.sweep's")
        t_sweep, t_kernel = [], []
        for _ in range(repeat):  # alternating, so that load from other jobs hits both alike
            t_sweep += timed(lambda: pm.sweep(**g, progress=False), 1)[1]
            t_kernel += timed(lambda: kernel_numpy(g), 1)[1]
    sweep_rate, kernel_rate = n / statistics.median(t_sweep), n / statistics.median(t_kernel)
    print(f"kernel[numpy] rows: {n:,} (the --quick grid, tree); columns equal to the sweep's "
          f"(np.allclose, rtol 1e-12): {n_cols} of {n_cols}, bit-identical: {identical} of {n_cols}")
    print(f"kernel[numpy] configs_per_s (median of {repeat}): {kernel_rate:,.0f}")
    print(f"sweep[tree, alternating with the kernel] configs_per_s (median of {repeat}): {sweep_rate:,.0f}")
    print(f"ratio sweep/kernel: {100 * sweep_rate / kernel_rate:.0f} %")
    return sweep_rate / kernel_rate


def bench_loop(g, n, seed=0, **extra):
    """predict_training (with a Cluster built per configuration, as a user's loop does)."""
    rng = random.Random(seed)
    cat = bundled_catalog()
    configs = []
    while len(configs) < n:
        d = cat.entries["device"][rng.choice(g["devices"])]
        prec = rng.choice(g["precisions"])
        if prec not in d.precisions:
            continue
        configs.append((rng.choice(g["models"]), d.name, rng.choice(g["n_devices"]), rng.choice(g["interconnects"]),
                        rng.choice(g["batch_per_device"]), prec, rng.choice(g["algorithms"])))
    dpn = extra.get("devices_per_node", 1)
    intra = extra.get("intra_node")

    def run():
        for m, d, p, ic, b, prec, alg in configs:
            c = pm.Cluster(d, p, devices_per_node=dpn, intra_node=intra, interconnect=ic)
            pm.predict_training(m, c, b, prec, algorithm=alg, check_memory=False)

    # warm the catalog, pint registry and imports on other configurations, then time the
    # first pass (every configuration new) and a repeated pass (predictions reused)
    pm.predict_training(configs[0][0], pm.Cluster(configs[0][1], 1), 8, configs[0][5], check_memory=False)
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    _, times = timed(run, 3)
    med = statistics.median(times)
    print(f"loop[predict_training] configs: {n:,} (random draws from the same grid)")
    print(f"loop[predict_training] configs_per_s (first pass, every configuration new): {n / first:,.0f}")
    print(f"loop[predict_training] configs_per_s (repeated, predictions reused): {n / med:,.0f}")
    return n / first


def bench_memory(g):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm.sweep(**g, progress=False)  # warm
        tracemalloc.start()
        df = pm.sweep(**g, progress=False)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    per_m = df.memory_usage(deep=True).sum() / len(df) * 1e6
    print(f"memory rows: {len(df):,}")
    print(f"memory frame_MB_per_million_rows: {per_m / 1e6:.1f}")
    print(f"memory tracemalloc_peak_MB_per_million_rows: {peak / len(df):.1f}")
    return per_m


def bench_pareto(df, repeat):
    """pm.pareto on the sweep result: epoch-time proxy vs device-hours per sample."""
    df = df.copy()
    df["device_s_per_sample"] = df["n_devices"] / df["throughput_samples_s"]
    cases = {"2 objectives": {"throughput_samples_s": "max", "device_s_per_sample": "min"},
             "3 objectives": {"throughput_samples_s": "max", "device_s_per_sample": "min", "batch_per_device": "min"}}
    for label, objectives in cases.items():
        front, times = timed(lambda: pm.pareto(df, objectives), repeat)
        print(f"pareto[{label}] rows: {len(df):,} -> front {len(front):,}; "
              f"time_s (median of {repeat}): {statistics.median(times):.3f}")


def child_big(rows_target: int, mode: str):
    """Run in a fresh process: a >= rows_target sweep, full frame or streamed; print JSON."""
    g = grid(1, precisions=("fp32",), whole_catalog=True)  # every model × device: batch is the short axis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = pm.sweep_size(**g)
        g["batch_per_device"] = list(range(1, math.ceil(rows_target / base) + 1))
        rows = pm.sweep_size(**g)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0, c0 = time.perf_counter(), time.process_time()
        again = None
        if mode == "frame":
            df = pm.sweep(**g, progress=False)
            n = len(df)
            frame_mb = df.memory_usage(deep=True).sum() / 1e6
            summary = float(df["iteration_time_s"].min())
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            del df  # the same sweep again: its pages are already mapped (no first-touch faults)
            t1 = time.perf_counter()
            pm.sweep(**g, progress=False)
            again = time.perf_counter() - t1
        else:  # stream: reduce each chunk to the fastest configuration per model
            best = {}
            n = 0
            for chunk in pm.sweep_chunks(**g, progress=False):
                n += len(chunk)
                part = chunk.groupby("model", observed=True)["iteration_time_s"].min()
                for k, v in part.items():
                    best[k] = min(v, best.get(k, math.inf))
            frame_mb = 0.0
            summary = min(best.values())
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(mode=mode, rows=rows, evaluated=n, time_s=dt, cpu_s=cpu, configs_per_s=n / dt,
                          peak_rss_MB=rss / 1024, rss_before_MB=rss0 / 1024, frame_MB=frame_mb,
                          vm_hwm_MB=_vm_hwm_mb(), min_iteration_time_s=summary, again_s=again)))


def _vm_hwm_mb():
    """Peak RSS of this process from /proc (Linux), None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def bench_big(rows_target: int):
    for mode in ("frame", "stream"):
        out = subprocess.run([sys.executable, __file__, "--child-big", str(rows_target), mode],
                             capture_output=True, text=True, cwd=REPO)
        if out.returncode:
            print(f"big[{mode}] FAILED: {out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"big[{mode}] rows: {r['evaluated']:,}")
        print(f"big[{mode}] time_s: {r['time_s']:.2f}  configs_per_s: {r['configs_per_s']:,.0f}; "
              f"process CPU (user + system, page faults included) {r['cpu_s']:.2f} s: "
              f"{r['evaluated'] / r['cpu_s']:,.0f} configs per CPU-second")
        if r.get("again_s"):
            print(f"big[{mode}] same sweep again in the same process (pages already mapped): "
                  f"{r['again_s']:.2f} s, {r['evaluated'] / r['again_s']:,.0f} configs/s")
        print(f"big[{mode}] peak_rss_MB (getrusage ru_maxrss): {r['peak_rss_MB']:.0f} "
              f"(before the sweep, after imports and catalog: {r['rss_before_MB']:.0f})"
              + (f"; VmHWM {r['vm_hwm_MB']:.0f}" if r.get("vm_hwm_MB") else "")
              + (f"; frame_MB: {r['frame_MB']:.0f}" if r["frame_MB"] else ""))


PEER_SCRIPT = r"""
import time, statistics, logging
t0 = time.perf_counter()
from llm_analysis.analysis import train
t_import = time.perf_counter() - t0
def one(i):
    return train(model_name="facebook_opt-1.3b", gpu_name="a100-sxm-40gb", dtype_name="w16a16e16",
                 log_level="ERROR", batch_size_per_gpu=1 + i % 8, seq_len=512, total_num_gpus=2 ** (i % 7),
                 dp_size=2 ** (i % 7), total_num_tokens=1e9, flops_efficiency=0.5)
t1 = time.perf_counter()
one(0)
t_first = time.perf_counter() - t1
n = 300
times = []
for _ in range(3):
    t = time.perf_counter()
    for i in range(n):
        one(i)
    times.append(time.perf_counter() - t)
import importlib.metadata as md
print(f"{md.version('llm-analysis')} {t_import:.3f} {n / statistics.median(times):.1f} {t_first:.4f}")
"""

#: The same questions asked of plaster_model in a fresh process: OPT-1.3B data parallel on
#: A100s (80 GB: batches of 1-3 sequences fit with the memory check on), 16-bit, efficiency 0.5,
#: default options (``algorithm="auto"``, memory checked). ``new`` draws 300 distinct
#: configurations (3 models × 2 devices × 3 precisions × 7 counts × 3 batches), so that every
#: call resolves and evaluates; ``repeated`` is the peer's loop (56 distinct configurations
#: asked 3 times), where plaster_model answers repeats from its prediction cache.
OURS_SCRIPT = r"""
import time, statistics, itertools, warnings
t0 = time.perf_counter()
import plaster_model as pm
t_import = time.perf_counter() - t0
def ask(m, d, q, p, b):
    c = pm.Cluster(d, p, devices_per_node=8, intra_node="NVLink 3", interconnect="InfiniBand HDR")
    return pm.predict_training(m, c, b, q, efficiency=0.5)
t1 = time.perf_counter()
ask("OPT-1.3B", "A100-80GB", "fp16", 1, 1)
t_first = time.perf_counter() - t1
combos = list(itertools.product(["GPT-3 1.3B", "OPT-1.3B", "GPT-2 XL"], ["A100-80GB", "H100"], ["fp16", "bf16", "mixed"],
                                [2 ** k for k in range(7)], [1, 2, 3]))[1:301]
t2 = time.perf_counter()
for args in combos:
    ask(*args)
t_new = time.perf_counter() - t2
n = 300
times = []
for _ in range(3):
    t = time.perf_counter()
    for i in range(n):
        ask("OPT-1.3B", "A100-80GB", "fp16", 2 ** (i % 7), 1 + i % 3)
    times.append(time.perf_counter() - t)
print(f"{t_import:.4f} {t_first:.4f} {len(combos) / t_new:.1f} {n / statistics.median(times):.1f}")
"""


def bench_peer(python: str | None):
    if not python:
        print("peer[llm-analysis] skipped: pass --peer-python PATH (a separate venv with llm-analysis)")
        return None
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    try:
        out = subprocess.run([python, "-c", PEER_SCRIPT], capture_output=True, text=True, timeout=600, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"peer[llm-analysis] not run: {exc}")
        return None
    if out.returncode:
        print(f"peer[llm-analysis] failed offline: {out.stderr.strip().splitlines()[-1:]}")
        return None
    version, t_import, rate, t_first = out.stdout.strip().splitlines()[-1].split()
    print(f"peer[llm-analysis {version}] import_s: {float(t_import):.3f}")
    print(f"peer[llm-analysis {version}] first_call_s (first train() after import): {float(t_first):.4f}")
    print(f"peer[llm-analysis {version}] configs_per_s: {float(rate):,.0f} (train(): OPT-1.3B, A100, data parallel)")
    return float(rate), float(t_first), float(t_import)


def bench_first_call(peer_python: str | None, rounds: int = 3):
    """A first ``predict_training`` call in a fresh process (import timed apart) and steady-state
    calls, against llm-analysis's ``train()`` on the same question, alternating fresh processes
    of each so that load from other jobs hits both alike; medians over ``rounds``."""
    import tempfile

    ours, peer = [], []
    # bytecode cached as for an installed package (the peer's venv has its .pyc files; a
    # PYTHONDONTWRITEBYTECODE environment would recompile the package in every process),
    # outside the repository; one run first writes it
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "plaster_bench_pyc"))
    subprocess.run([sys.executable, "-c", "import plaster_model as pm; pm.predict_training('ResNet-50', pm.Cluster('V100', 1), 8)"],
                   capture_output=True, cwd=REPO, env=env, timeout=600)
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", OURS_SCRIPT], capture_output=True, text=True, timeout=600,
                             cwd=REPO, env=env)
        if out.returncode:
            print(f"first[plaster_model] failed: {out.stderr.strip().splitlines()[-1:]}")
            return None
        ours.append([float(x) for x in out.stdout.strip().splitlines()[-1].split()])
        if peer_python:
            r = bench_peer(peer_python)
            if r:
                peer.append(r)
    med = [statistics.median(col) for col in zip(*ours)]
    print(f"first[plaster_model] import_s (median of {rounds} fresh processes): {med[0]:.3f}")
    print(f"first[plaster_model] first_call_s (first predict_training after import: catalog, resolution, "
          f"memory check, auto all-reduce): {med[1]:.4f}")
    print(f"first[plaster_model] configs_per_s, every call new (300 distinct configurations): {med[2]:,.0f}")
    print(f"first[plaster_model] configs_per_s, the peer's loop (repeats answered from the cache): {med[3]:,.0f}")
    if peer:
        p_rate = statistics.median(r[0] for r in peer)
        p_first = statistics.median(r[1] for r in peer)
        p_import = statistics.median(r[2] for r in peer)
        print(f"ratio first call after import, peer_time/ours (>1: ours faster): {p_first / med[1]:.3f}x "
              "(ours loads numpy, the catalog and the estimators on first use; the peer at import)")
        print(f"ratio import + first call (time to the first answer), peer_time/ours: "
              f"{(p_import + p_first) / (med[0] + med[1]):.2f}x")
        print(f"ratio steady state, every call new, ours/peer: {med[2] / p_rate:.2f}x")
        print(f"ratio steady state, the peer's loop, ours/peer: {med[3] / p_rate:.2f}x")
    return med


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grid, no 10^7 run")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--loop", type=int, default=2000, help="configurations in the scalar loop")
    ap.add_argument("--big", type=float, default=1e7, help="rows of the big sweep (0: skip)")
    ap.add_argument("--peer-python", default=None if not Path("/tmp/llm_venv/bin/python").exists()
                    else "/tmp/llm_venv/bin/python")
    ap.add_argument("--child-big", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--first-call", action="store_true",
                    help="only the first-call / steady-state comparison with the peer")
    args = ap.parse_args(argv)
    if args.first_call:
        bench_first_call(args.peer_python)
        return
    if args.child_big:
        child_big(int(float(args.child_big[0])), args.child_big[1])
        return
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, numpy {np.__version__}")
    if args.big and not args.quick:
        # first, while this parent process is small: Linux children inherit ru_maxrss at fork
        bench_big(int(args.big))
    g = grid(8 if args.quick else 24)
    df, rate = bench_sweep(g, args.repeat, "tree, 1 device/node")
    loop = bench_loop(g, 300 if args.quick else args.loop)
    print(f"ratio sweep/loop: {rate / loop:,.0f}x")
    bench_pareto(df, 3)
    del df
    bench_kernel(grid(8), args.repeat)  # the --quick grid in either mode
    from plaster_model.estimators.collectives import ALGORITHMS

    g_all = dict(g, algorithms=sorted(ALGORITHMS), batch_per_device=g["batch_per_device"][:: 8 if not args.quick else 1])
    bench_sweep(g_all, args.repeat, f"{len(ALGORITHMS)} algorithms, 8 devices/node NVLink 2",
                devices_per_node=8, intra_node="NVLink 2")
    bench_memory(dict(g, batch_per_device=list(range(1, 9))))
    peer = bench_peer(args.peer_python)
    if peer:
        print(f"ratio sweep/peer: {rate / peer[0]:,.0f}x")
    bench_first_call(args.peer_python)


if __name__ == "__main__":
    main()
