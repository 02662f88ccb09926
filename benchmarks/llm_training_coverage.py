"""Audit: can ``predict_llm_training`` answer the kinds of questions published LLM-training tables ask?

The questions are *configurations only* — model, accelerator system and count, parallel layout,
precision, sequence length, global batch — the public setups of 2023–2026 MLPerf Training
submissions and framework performance tables (Megatron-LM / NeMo, torchtitan, llm-foundry,
MaxText), of the DeepSeek-V3 and Llama 3 reports. No measured result is transcribed here: the
script only asks each question and records whether the library answers it, and if not, why
(a missing model, device, system or option, a memory refusal, or another error). It also prints
the predicted MFU and binding term of every answered question, for a plausibility read (the
mechanisms, not a table, should put large dense models at scale at 30–55 % MFU on H100-class
GPUs).

Run from the repository root::

    PYTHONPATH=. python benchmarks/llm_training_coverage.py            # table to stdout
    PYTHONPATH=. python benchmarks/llm_training_coverage.py --markdown # as a markdown table
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import plaster_model as pm  # noqa: E402

# (label, model, system, n_devices, plan kwargs, call kwargs). Layouts follow the published
# setups as far as recalled, or the framework's defaults (MaxText and torchtitan's large models
# rematerialize, NeMo splits 8k sequences of Llama 3 8B over CP 2); where a recalled layout does
# not fit, the audit says so and searches one that does.
Q = []


def q(label, model, system, n, plan=None, **kw):
    Q.append((label, model, system, n, dict(plan or {}), kw))


S8K = dict(seq_len=8192)
# --- Megatron-LM / NeMo performance tables (Llama 3.1, GPT-3, Nemotron, Mixtral), H100
q("NeMo Llama3.1-8B 8xH100 fp8", "Llama-3.1-8B", "DGX H100", 8, dict(tp=1, pp=1, cp=2, micro_batch=1, zero=1),
  global_batch=128, precision="fp8", **S8K)
q("NeMo Llama3.1-8B 8xH100 bf16", "Llama-3.1-8B", "DGX H100", 8, dict(tp=1, pp=1, cp=2, micro_batch=1, zero=1),
  global_batch=128, precision="bf16", **S8K)
q("NeMo Llama3.1-70B 64xH100 fp8", "Llama-3.1-70B", "DGX H100", 64,
  dict(tp=4, pp=4, cp=2, sp=True, virtual_stages=5, micro_batch=1, zero=1), global_batch=128, precision="fp8", **S8K)
q("NeMo Llama3.1-405B 576xH100 fp8", "Llama-3.1-405B", "DGX H100", 576,
  dict(tp=8, pp=9, cp=2, sp=True, virtual_stages=7, micro_batch=1, zero=1), global_batch=252, precision="fp8", **S8K)
q("NeMo Llama3.1-405B 1024xH100 bf16", "Llama-3.1-405B", "DGX H100", 1024,
  dict(tp=8, pp=8, cp=2, sp=True, virtual_stages=2, micro_batch=1, zero=1), global_batch=512, precision="bf16", **S8K)
q("Megatron GPT-3 175B 512xH100 fp8", "GPT-3 175B", "DGX H100", 512,
  dict(tp=4, pp=8, sp=True, virtual_stages=4, micro_batch=1, zero=1), global_batch=2048, precision="fp8", seq_len=2048)
q("Megatron GPT-3 175B 512xH100 bf16", "GPT-3 175B", "DGX H100", 512,
  dict(tp=8, pp=8, sp=True, virtual_stages=3, micro_batch=1, zero=1), global_batch=1536, precision="bf16", seq_len=2048)
q("Megatron GPT-3 175B 64xH100 bf16", "GPT-3 175B", "DGX H100", 64,
  dict(tp=8, pp=8, sp=True, micro_batch=1, recompute="selective"), global_batch=256, precision="bf16", seq_len=2048)
q("NeMo Nemotron-4 340B 128xH100 fp8", "Nemotron-4-340B", "DGX H100", 128,
  dict(tp=8, pp=8, sp=True, virtual_stages=12, micro_batch=1, zero=1), global_batch=32, precision="fp8", seq_len=4096)
q("Nemotron-4 340B 6144xH100 bf16", "Nemotron-4-340B", "DGX H100", 6144,
  dict(tp=8, pp=12, sp=True, micro_batch=1, zero=1), global_batch=768, precision="bf16", seq_len=4096)
q("NeMo Mixtral-8x7B 64xH100 bf16", "Mixtral-8x7B", "DGX H100", 64,
  dict(tp=1, pp=4, ep=8, virtual_stages=8, micro_batch=1, zero=1), global_batch=256, precision="bf16", seq_len=4096)
q("NeMo Mixtral-8x22B 256xH100 bf16", "Mixtral-8x22B", "DGX H100", 256,
  dict(tp=2, pp=8, ep=8, sp=True, virtual_stages=7, micro_batch=1, zero=1), global_batch=256, precision="bf16",
  seq_len=4096)
q("NeMo DeepSeek-V3 1024xH100 bf16", "DeepSeek-V3", "DGX H100", 1024,
  dict(tp=2, pp=16, ep=64, sp=True, micro_batch=1, zero=1), global_batch=8192, precision="bf16", seq_len=4096)
q("DeepSeek-V3 2048xH800 fp8", "DeepSeek-V3", "DGX H800", 2048,
  dict(tp=1, pp=16, ep=64, micro_batch=1, zero=1), global_batch=15360, precision="fp8", seq_len=4096)
# --- long sequences with context parallelism
q("Llama3.1-8B 128k CP16 64xH100 bf16", "Llama-3.1-8B", "DGX H100", 64,
  dict(tp=4, cp=16, sp=True, micro_batch=1, zero=1, recompute="selective"), global_batch=16, precision="bf16",
  seq_len=131072)
q("Llama3.1-70B 32k CP4 256xH100 bf16", "Llama-3.1-70B", "DGX H100", 256,
  dict(tp=8, pp=4, cp=4, sp=True, micro_batch=1, zero=1), global_batch=64, precision="bf16", seq_len=32768)
# --- torchtitan (FSDP2 = ZeRO-3, TP, PP, float8)
q("torchtitan Llama3.1-8B FSDP 8xH100 bf16", "Llama-3.1-8B", "DGX H100", 8, dict(zero=3, micro_batch=1, recompute="selective"),
  global_batch=8, precision="bf16", **S8K)
q("torchtitan Llama3.1-8B FSDP 128xH100 fp8", "Llama-3.1-8B", "DGX H100", 128, dict(zero=3, micro_batch=2),
  global_batch=256, precision="fp8", **S8K)
q("torchtitan Llama3.1-70B FSDP+TP8 256xH100 fp8", "Llama-3.1-70B", "DGX H100", 256,
  dict(tp=8, sp=True, zero=3, micro_batch=4, recompute="full"), global_batch=128, precision="fp8", **S8K)
q("torchtitan Llama3.1-405B FSDP+TP8+PP8 512xH100 fp8", "Llama-3.1-405B", "DGX H100", 512,
  dict(tp=8, pp=8, sp=True, zero=3, micro_batch=1, recompute="full"), global_batch=64, precision="fp8", **S8K)
# --- llm-foundry (FSDP full shard)
q("llm-foundry MPT-7B 8xH100 bf16", "MPT-7B", "DGX H100", 8, dict(zero=3, micro_batch=8), global_batch=512,
  precision="bf16", seq_len=2048)
q("llm-foundry MPT-30B 64xH100 bf16", "MPT-30B", "DGX H100", 64, dict(zero=3, micro_batch=4, recompute="full"),
  global_batch=1024, precision="bf16", seq_len=2048)
q("llm-foundry MPT-7B 64xA100 bf16", "MPT-7B", "DGX A100 640GB", 64, dict(zero=3, micro_batch=8),
  global_batch=1024, precision="bf16", seq_len=2048)
# --- MLPerf Training (v3.1–v5.1 benchmark setups: GPT-3 175B, Llama 2 70B LoRA, Llama 3.1 8B/405B)
q("MLPerf GPT-3 175B 512xH100 fp8", "GPT-3 175B", "DGX H100", 512,
  dict(tp=4, pp=8, sp=True, virtual_stages=4, micro_batch=1, zero=1), global_batch=2048, precision="fp8", seq_len=2048)
q("MLPerf GPT-3 175B 512xH200 fp8", "GPT-3 175B", "DGX H200", 512,
  dict(tp=4, pp=8, sp=True, virtual_stages=4, micro_batch=1, zero=1), global_batch=2048, precision="fp8", seq_len=2048)
q("MLPerf GPT-3 175B 512xB200 fp8", "GPT-3 175B", "DGX B200", 512,
  dict(tp=4, pp=8, sp=True, virtual_stages=4, micro_batch=1, zero=1), global_batch=2048, precision="fp8", seq_len=2048)
q("MLPerf Llama2-70B LoRA 8xH100 fp8", "Llama-2-70B", "DGX H100", 8, dict(tp=4, pp=1, cp=2, sp=True, micro_batch=1),
  global_batch=8, precision="fp8", seq_len=8192, finetune="lora")
q("MLPerf Llama2-70B LoRA 8xB200 fp8", "Llama-2-70B", "DGX B200", 8, dict(tp=1, pp=1, micro_batch=1, zero=0),
  global_batch=8, precision="fp8", seq_len=8192, finetune="lora")
q("MLPerf Llama2-70B LoRA 8xMI300X fp8", "Llama-2-70B", "AMD Instinct MI300X Platform", 8,
  dict(tp=1, micro_batch=1), global_batch=8, precision="fp8", seq_len=8192, finetune="lora")
q("MLPerf Llama2-70B LoRA 72xGB200 fp8", "Llama-2-70B", "GB200 NVL72", 72,
  dict(tp=1, cp=1, micro_batch=1), global_batch=72, precision="fp8", seq_len=8192, finetune="lora")
q("MLPerf Llama3.1-405B 512xGB200 fp8", "Llama-3.1-405B", "GB200 NVL72", 512,
  dict(tp=4, pp=8, cp=2, sp=True, virtual_stages=8, micro_batch=1, zero=1), global_batch=1152, precision="fp8",
  seq_len=8192)
q("MLPerf Llama3.1-405B 512xB200 fp8", "Llama-3.1-405B", "DGX B200", 512,
  dict(tp=4, pp=8, cp=2, sp=True, virtual_stages=8, micro_batch=1, zero=1), global_batch=1152, precision="fp8",
  seq_len=8192)
q("MLPerf Llama3.1-405B 512xGB300 fp4", "Llama-3.1-405B", "GB300 NVL72", 512,
  dict(tp=4, pp=8, cp=2, sp=True, virtual_stages=8, micro_batch=1, zero=1), global_batch=1152, precision="fp4",
  seq_len=8192)
q("MLPerf Llama3.1-8B 8xB200 fp8", "Llama-3.1-8B", "DGX B200", 8, dict(tp=1, micro_batch=2, zero=1),
  global_batch=32, precision="fp8", **S8K)
q("MLPerf Llama3.1-8B 64xH200 fp8", "Llama-3.1-8B", "DGX H200", 64, dict(tp=1, micro_batch=1, zero=1),
  global_batch=64, precision="fp8", **S8K)
# --- AMD (Megatron-LM ROCm / torchtitan on MI300X / MI325X / MI355X)
q("ROCm Megatron Llama3.1-8B 8xMI300X bf16", "Llama-3.1-8B", "AMD Instinct MI300X Platform", 8,
  dict(tp=1, micro_batch=2, zero=1), global_batch=128, precision="bf16", **S8K)
q("ROCm Megatron Llama3.1-8B 8xMI300X fp8", "Llama-3.1-8B", "AMD Instinct MI300X Platform", 8,
  dict(tp=1, micro_batch=2, zero=1), global_batch=128, precision="fp8", **S8K)
q("ROCm Megatron Llama3.1-70B 64xMI300X bf16", "Llama-3.1-70B", "AMD Instinct MI300X Platform", 64,
  dict(tp=8, pp=1, sp=True, micro_batch=1, zero=3, recompute="full"), global_batch=128, precision="bf16", **S8K)
q("torchtitan Llama3.1-70B FSDP 64xMI325X bf16", "Llama-3.1-70B", "AMD Instinct MI325X Platform", 64,
  dict(zero=3, micro_batch=1, recompute="full"), global_batch=64, precision="bf16", **S8K)
q("ROCm Mixtral-8x7B 8xMI300X bf16", "Mixtral-8x7B", "AMD Instinct MI300X Platform", 8,
  dict(ep=8, micro_batch=1, zero=1, recompute="full"), global_batch=64, precision="bf16", seq_len=4096)
q("MLPerf Llama2-70B LoRA 8xMI355X fp4", "Llama-2-70B", "AMD Instinct MI355X Platform", 8,
  dict(tp=1, micro_batch=1), global_batch=8, precision="fp4", seq_len=8192, finetune="lora")
# --- TPU (MaxText / MLPerf on v5p and Trillium)
q("MaxText Llama2-70B FSDP 256xv5p bf16", "Llama-2-70B", "Cloud TPU v5p pod", 256,
  dict(zero=3, micro_batch=2, recompute="full"),
  global_batch=512, precision="bf16", seq_len=4096)
q("MLPerf GPT-3 175B 1024xv5p bf16", "GPT-3 175B", "Cloud TPU v5p pod", 1024,
  dict(tp=8, zero=3, micro_batch=2, recompute="full"), global_batch=1536, precision="bf16", seq_len=2048)
q("MaxText Llama3.1-8B FSDP 256xv6e bf16", "Llama-3.1-8B", "Cloud TPU v6e pod", 256,
  dict(zero=3, micro_batch=2, recompute="full"),
  global_batch=512, precision="bf16", **S8K)
q("MLPerf GPT-3 175B 2048xTrillium bf16", "GPT-3 175B", "Cloud TPU v6e pod", 2048,
  dict(tp=8, zero=3, micro_batch=1, recompute="full"), global_batch=2048, precision="bf16", seq_len=2048)
q("MaxText Mixtral-8x7B 256xv5p bf16", "Mixtral-8x7B", "Cloud TPU v5p pod", 256,
  dict(ep=8, zero=3, micro_batch=2, recompute="full"),
  global_batch=512, precision="bf16", seq_len=4096)
# --- other NVIDIA systems
q("NeMo Llama3.1-70B 64xH200 fp8", "Llama-3.1-70B", "DGX H200", 64,
  dict(tp=2, pp=4, cp=2, sp=True, virtual_stages=5, micro_batch=1, zero=1), global_batch=128, precision="fp8", **S8K)
q("NeMo Llama3.1-70B 64xB200 fp8", "Llama-3.1-70B", "DGX B200", 64,
  dict(tp=2, pp=4, cp=2, sp=True, virtual_stages=5, micro_batch=1, zero=1), global_batch=128, precision="fp8", **S8K)
q("NeMo Llama3.1-70B 72xGB200 fp8", "Llama-3.1-70B", "GB200 NVL72", 72,
  dict(tp=2, pp=4, sp=True, micro_batch=1, zero=1), global_batch=144, precision="fp8", **S8K)
q("NeMo Llama3.1-405B 128xGB200 bf16", "Llama-3.1-405B", "GB200 NVL72", 128,
  dict(tp=4, pp=8, cp=2, sp=True, virtual_stages=8, micro_batch=1, zero=1), global_batch=64, precision="bf16", **S8K)
q("NeMo DeepSeek-V3 256xGB200 fp8", "DeepSeek-V3", "GB200 NVL72", 256,
  dict(tp=1, pp=4, ep=64, micro_batch=1, zero=1, recompute="selective"), global_batch=2048, precision="fp8",
  seq_len=4096)
q("Llama2-70B LoRA 8xH100 bf16 (PEFT)", "Llama-2-70B", "DGX H100", 8, dict(tp=2, pp=1, micro_batch=1),
  global_batch=32, precision="bf16", seq_len=4096, finetune="lora", lora_rank=16)
q("Qwen3-30B-A3B 32xH100 bf16", "Qwen3-30B-A3B", "DGX H100", 32, dict(tp=1, pp=1, ep=8, micro_batch=2, zero=1),
  global_batch=256, precision="bf16", seq_len=4096)
q("Qwen3-235B-A22B 256xH100 fp8", "Qwen3-235B-A22B", "DGX H100", 256,
  dict(tp=2, pp=8, ep=8, sp=True, micro_batch=1, zero=1, recompute="selective"), global_batch=1024, precision="fp8",
  seq_len=4096)


def classify(exc) -> str:
    """Why a question was not answered: missing model / device / system / option, memory, or error."""
    text = str(exc)
    if isinstance(exc, pm.errors.MemoryFitError):
        return "memory refusal"
    if isinstance(exc, TypeError) and "unexpected keyword" in text:
        return "missing option"
    if isinstance(exc, KeyError) or "unknown" in text.lower() or "not in the catalog" in text.lower():
        low = text.lower()
        for kind in ("system", "device", "model"):
            if kind in low:
                return f"missing {kind}"
        return "missing name"
    return "error"


def _another_plan(model, cluster, kw) -> str:
    """For a memory refusal: the fastest plan of the same job that fits (best_plans), if any —
    the layout asked for does not fit, the job itself can still be answered."""
    try:
        df = pm.best_plans(model, cluster, global_batch=kw["global_batch"], seq_len=kw.get("seq_len"),
                           precision=kw.get("precision", "bf16"), top=1,
                           **({"finetune": kw["finetune"]} if "finetune" in kw else {}),
                           **({"lora_rank": kw["lora_rank"]} if "lora_rank" in kw else {}))
    except Exception as exc:  # noqa: BLE001
        return f"search failed: {type(exc).__name__}"
    return df["plan"].iloc[0] if len(df) else "none fits"


def audit() -> pd.DataFrame:
    rows = []
    for label, model, system, n, plan_kw, kw in Q:
        row = {"question": label, "model": model, "system": system, "n": n}
        try:
            c = pm.Cluster.from_system(system, n_devices=n)
            plan = pm.ParallelPlan(**plan_kw)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = pm.predict_llm_training(model, c, plan, **kw)
            row.update(answered=True, why="", step_s=p.time_per_iter_s, mfu_pct=100 * p.mfu,
                       binding=p.binding, mem_gib=p.memory_per_device_bytes / 2**30)
        except Exception as exc:  # noqa: BLE001 (an audit: every failure is recorded and classified)
            row.update(answered=False, why=f"{classify(exc)}: {type(exc).__name__}: {str(exc)[:160]}")
            if isinstance(exc, pm.errors.MemoryFitError):
                row["another_plan"] = _another_plan(model, c, kw)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args(argv)
    df = audit()
    pd.set_option("display.width", 250, "display.max_colwidth", 120, "display.max_rows", 200)
    if args.markdown:
        print(df.to_markdown(index=False, floatfmt=".3g"))
    else:
        print(df.drop(columns=["model", "system"]).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    n_ok = int(df["answered"].sum())
    print(f"\nanswered {n_ok} of {len(df)} ({100 * n_ok / len(df):.0f} %)")
    print(summary(df).to_string(index=False))
    return df


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Questions per outcome: answered, or the reason class (a memory refusal split by whether
    another layout of the same job fits)."""
    def outcome(r):
        if r["answered"]:
            return "answered"
        why = r["why"].split(":")[0]
        if why == "memory refusal":
            fits = isinstance(r.get("another_plan"), str) and r["another_plan"] not in ("none fits",) \
                and not r["another_plan"].startswith("search failed")
            return "memory refusal (another layout fits)" if fits else "memory refusal (no layout fits)"
        return why
    out = df.apply(outcome, axis=1).value_counts().rename_axis("outcome").reset_index(name="questions")
    out["share_pct"] = (100 * out["questions"] / len(df)).round(1)
    return out


if __name__ == "__main__":
    main()
