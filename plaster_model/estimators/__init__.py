"""Pure, vectorized closed-form estimators, named after the model they implement."""
from .collectives import (ALGORITHMS, FLAT_ALGORITHMS, allreduce_time, auto_allreduce_time,
                          halving_doubling_allreduce_time, multirail_ring_allreduce_time,
                          hierarchical_allreduce_time, normalize_algorithm, parameter_server_time,
                          ring_allreduce_time)
from .data_parallel import (TRAINING_FLOPS_FACTOR, data_parallel_compute_time, required_bandwidth,
                            training_flops, tree_crossover_devices)
from .collectives import tree_allreduce_time
from .memory import (DEFAULT_WORKSPACE_BYTES, OPTIMIZER_STATE_COPIES, MemoryFitError, max_batch_that_fits,
                     training_memory_breakdown, training_memory_bytes, training_memory_fit,
                     transformer_activation_bytes)
from .summa import (summa_bandwidth_bound, summa_compute_time, summa_data_read_time, summa_gemm_bandwidth_bound,
                    summa_gemm_compute_time, summa_gemm_data_read_time, summa_grid, summa_layers, summa_time)
from .iteration import COMM_EFFICIENCY_MIN, DEFAULT_BUCKET_BYTES, data_parallel_iteration
from .overlap import gradient_ready_profile, pipelined_exposed_time
from .inference import host_transfer_time, inference_batch_time, inference_knee_batch, inference_roofline_terms
from .energy import energy_per_inference, inferences_per_joule
from .power_cap import DVFS_POWER_EXPONENT, capped_efficiency_ratio, power_capped_clock_ratio
from .roofline import operator_roofline_time
from .transformer import (OP_CLASSES, attended_keys, kv_cache_bytes, kv_cache_bytes_per_token, megatron_iteration_flops,
                          model_flops_per_token, transformer_forward_flops, transformer_operators,
                          transformer_param_counts)
