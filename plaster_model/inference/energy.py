"""Former home of the energy estimators: they live in :mod:`plaster_model.estimators.energy`
(one home per formula); these names are re-exported so existing imports keep working."""
from ..estimators.energy import energy_per_inference, inferences_per_joule

__all__ = ["inferences_per_joule", "energy_per_inference"]
