"""Catalog objects (devices, interconnects, systems, models, datasets) and their loader."""
from .objects import (BYTES_PER_ELEMENT, MEMORY_TECHNOLOGIES, PRECISIONS, PROCESS_NODES, Dataset, Device,
                      Interconnect, Model, System, normalize_precision)
from .loader import (Catalog, CatalogError, active_catalog, bundled_catalog, find_name,
                     list_datasets, list_devices, list_interconnects, list_models,
                     list_systems, load_catalog, load_dataset, load_device,
                     load_interconnect, load_model, load_system, reset_catalog)
