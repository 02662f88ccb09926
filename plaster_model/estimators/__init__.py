"""Pure, vectorized closed-form estimators, named after the model they implement."""
from .collectives import ALGORITHMS, allreduce_time
from .data_parallel import (TRAINING_FLOPS_FACTOR, data_parallel_compute_time, required_bandwidth,
                            training_flops, tree_allreduce_time, tree_crossover_devices)
from .memory import OPTIMIZER_STATE_COPIES, training_memory_bytes
from .summa import summa_bandwidth_bound, summa_compute_time, summa_data_read_time
