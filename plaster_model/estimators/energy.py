"""Energy efficiency of inference: inferences per joule and joules per inference.

PLASTER's "E" is inferences per second per watt, which is inferences per joule:

    inferences/J = (inferences/s) / W = throughput / P
    J/inference  = P / throughput      (= P · t(b) / b for a batch of b taking t(b))

An *inference* is one sample (one image, one utterance), not one batch.
"""
from __future__ import annotations

import numpy as np

from ._validate import _positive_array

__all__ = ["inferences_per_joule", "energy_per_inference"]


def _arrays(throughput_samples_s, power_w):
    # a throughput of 0 would be an infinite energy per inference: refused, like NaN and inf
    thr = np.asarray(_positive_array(throughput_samples_s, "sample_rate", "throughput_samples_s"))
    pw = np.asarray(_positive_array(power_w, "power", "power_w"))
    return thr, pw


def inferences_per_joule(throughput_samples_s, power_w):
    """Inferences per joule = inferences per second per watt [1/J].

    ``η_E = X / P``

    Parameters
    ----------
    throughput_samples_s : array_like
        Inferences (samples) per second ``X`` [1/s].
    power_w : array_like
        Power drawn while delivering them ``P`` [W] (board TDP when nothing is measured:
        an upper bound on the draw, so the efficiency is a lower bound).

    Returns
    -------
    float or numpy.ndarray
        [1/J] (inferences per joule).

    References
    ----------
    TIRIAS Research, "PLASTER: A Framework for Deep Learning Performance", 2018.

    Examples
    --------
    The PLASTER rule of thumb: a 200 W device 20× faster beats a 130 W device,
    by ``(20·r/200)/(r/130) = 13`` times:

    >>> r = 100.0   # inferences/s of the slow device
    >>> inferences_per_joule(20 * r, 200.0) / inferences_per_joule(r, 130.0)
    13.0
    """
    thr, pw = _arrays(throughput_samples_s, power_w)
    out = thr / pw
    return out if out.ndim else float(out)


def energy_per_inference(throughput_samples_s, power_w):
    """Energy per inference [J].

    ``E = P / X`` (W divided by inferences/s is J per inference); a zero throughput is
    refused (no energy figure, never an infinite one).

    Parameters
    ----------
    throughput_samples_s : array_like
        Inferences (samples) per second [1/s].
    power_w : array_like
        Power [W].

    Returns
    -------
    float or numpy.ndarray
        [J]

    Examples
    --------
    A 70 W device serving 1,000 images/s spends 70 mJ per image:

    >>> energy_per_inference(1000.0, 70.0)
    0.07
    """
    thr, pw = _arrays(throughput_samples_s, power_w)
    out = pw / thr
    return out if out.ndim else float(out)
