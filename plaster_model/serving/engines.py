"""Serving engines and their fixed overheads (priors; the serving calibration fits them).

Each engine spends time the hardware roofline does not: per decode step (scheduler,
sampling, host-device synchronisation), per layer per step (kernel launches that CUDA graphs
shorten but do not remove) and per request (tokenization, admission, the first sampling);
and each schedules new requests its own way: how its benchmark's first wave queues
(``q_wave``) and how much of the admitted prefills stalls decode steps (``iota``).
The priors below are order-of-magnitude values, not fitted to rows: TensorRT-LLM and SGLang
run decode under CUDA graphs with an overlapped scheduler, vLLM's V1 engine likewise since
0.8; a request costs a few milliseconds of host work in each. The calibration replaces them
with fitted values, kept apart from the hardware efficiencies (which transfer across GPUs).

An engine the calibration has not seen takes the engines' shared (geometric-mean) value,
and its interval widens by the engine-to-engine spread.
"""
from __future__ import annotations

__all__ = ["ENGINES", "ENGINE_KEYS", "ENGINE_PRIORS", "normalize_engine"]

#: Overhead parameters an engine sets (names of :data:`~plaster_model.estimators.serving.SERVING_PARAMETERS`).
ENGINE_KEYS = ("t_step_s", "t_layer_s", "t_request_s", "q_wave", "iota")

#: Engine name -> prior values of :data:`ENGINE_KEYS` [s].
ENGINE_PRIORS = {
    "TensorRT-LLM": {"t_step_s": 1.5e-3, "t_layer_s": 1.5e-5, "t_request_s": 30e-3, "q_wave": 0.05, "iota": 0.75},
    "SGLang": {"t_step_s": 2.0e-3, "t_layer_s": 2.0e-5, "t_request_s": 40e-3, "q_wave": 0.05, "iota": 0.75},
    "vLLM": {"t_step_s": 2.5e-3, "t_layer_s": 2.0e-5, "t_request_s": 30e-3, "q_wave": 0.05, "iota": 0.75},
}

ENGINES = tuple(ENGINE_PRIORS)

_ALIASES = {"trtllm": "TensorRT-LLM", "tensorrt-llm": "TensorRT-LLM", "tensorrt_llm": "TensorRT-LLM",
            "trt-llm": "TensorRT-LLM", "sglang": "SGLang", "vllm": "vLLM"}


def normalize_engine(engine) -> str | None:
    """Canonical engine name (``"TensorRT-LLM"``, ``"SGLang"``, ``"vLLM"``), the text itself when
    unknown, None for None. A trailing version (``"vLLM 0.17.0"``) is dropped.

    Examples
    --------
    >>> normalize_engine("trtllm"), normalize_engine("vLLM 0.17.0"), normalize_engine("MyEngine")
    ('TensorRT-LLM', 'vLLM', 'MyEngine')
    """
    if engine is None:
        return None
    text = str(engine).strip()
    head = text.split()[0] if text else text
    return _ALIASES.get(head.lower(), _ALIASES.get(text.lower(), text))
