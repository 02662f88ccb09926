"""Parallel training plans for transformers: one module per strategy.

- :mod:`.plan`: :class:`ParallelPlan` (validated once) and its resolution on a cluster.
- :mod:`.data`: today's data parallelism, the default plan (the existing path, unchanged).
- :mod:`.tensor`: Megatron tensor parallelism and sequence parallelism.
- :mod:`.pipeline`: 1F1B and interleaved pipeline bubbles, point-to-point traffic.
- :mod:`.zero`: ZeRO-1/2/3 and FSDP traffic (memory in :mod:`plaster_model.estimators.llm_memory`).
- :mod:`.context`: ring attention. :mod:`.expert`: MoE all-to-all.
- :mod:`.placement`: which link tier each group's collectives run on.
- :mod:`.step`: the vectorized iteration model that combines them; :mod:`.predict` and
  :mod:`.search` its public entry points.
"""
from .plan import ParallelPlan

__all__ = ["ParallelPlan"]
