"""MLPerf's RNN-T speech recogniser (Inference v0.7–v3.1 and Training v1.0–v2.1 "rnnt"), in the
layout of the reference code (mlcommons/inference ``speech_recognition/rnnt/pytorch``,
``model_separable_rnnt.py`` and ``rnnt.toml``).

Encoder: 80 log-mel features spliced by 3 (240 inputs per step, a third of the 10 ms frames);
a 2-layer LSTM pre-network (1024), time stacking by 2 (2048 inputs), a 3-layer LSTM
post-network (1024). Prediction network: an embedding of the 28 non-blank labels (320) and a
2-layer LSTM (320). Joint network: Linear(1024 + 320 → 512), ReLU, Linear(512 → 29).

What a sample is: one utterance of ``steps`` encoder input steps (after splicing) and
``labels`` output labels. Inference (greedy decoding, ``lattice=False``) evaluates the joint
network once per encoder step and once per emitted label (``steps/2 + labels`` times);
training (``lattice=True``) evaluates it on the whole (time × label) lattice that the RNN-T
loss needs. Decoding control flow, the featurizer and the loss are not in the graph.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ._graph import Graph

__all__ = ["rnnt"]


def _lstm(g, x, hidden: int):
    """One LSTM layer over ``x`` [batch, seq, in] (ONNX ``layout=1``): W [1, 4H, I],
    R [1, 4H, H] and B [1, 8H] (PyTorch's two biases); returns [batch, seq, hidden]."""
    seq, inp = g.shapes[x]
    name = g.uid("lstm")
    w = g.weight(f"{name}.W", (1, 4 * hidden, inp))
    r = g.weight(f"{name}.R", (1, 4 * hidden, hidden))
    b = g.weight(f"{name}.B", (1, 8 * hidden))
    y = g.node("LSTM", [x, w, r, b], (seq, 1, hidden), name=name, hidden_size=hidden, layout=1)
    return g.node("Reshape", [y, g.const_i64(g.uid("shape"), [0, 0, -1])], (seq, hidden))


def _matmul_bias(g, x, out: int):
    *lead, inp = g.shapes[x]
    name = g.uid("fc")
    y = g.node("MatMul", [x, g.weight(f"{name}.weight", (inp, out))], (*lead, out), name=name)
    return g.node("Add", [y, g.weight(f"{name}.bias", (out,))], (*lead, out))


def rnnt(steps=410, labels=184, lattice=False, features=240, enc_hidden=1024, pred_hidden=320,
         joint_hidden=512, vocab=29, batch=None):
    """The RNN-T graph for one utterance (see the module docstring).

    Parameters
    ----------
    steps : int
        Encoder input steps after 3× frame splicing (even: the time stacking halves it).
        Default 410: a 12.3 s utterance (the LibriSpeech 960 h mean, 960 h / 281,241
        utterances) of 10 ms frames, 1229 frames / 3.
    labels : int
        Output labels (characters) per utterance; default 184, about 15 characters per second
        of read speech (an assumption, stated in the zoo entry).
    lattice : bool
        Joint network on the full (steps/2 × labels) lattice (training) instead of the
        greedy-decoding path (inference).

    Notes
    -----
    Parameters (PyTorch LSTM: 4H·(I + H) + 8H per layer): encoder 5,185,536 + 8,396,800 +
    12,591,104 + 2 · 8,396,800 = 42,967,040; prediction 28 · 320 + 2 · 821,760 = 1,652,480;
    joint 1,344 · 512 + 512 + 512 · 29 + 29 = 703,517; total 45,323,037.

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.model_from_onnx(rnnt()).params
    45323037
    """
    import onnx

    if steps % 2:
        raise ParameterError("steps", steps, "an even number of encoder steps (the time stacking halves them)")
    g = Graph("rnnt_lattice" if lattice else "rnnt", (steps, features), input_name="features")
    x = g.x
    for _ in range(2):
        x = _lstm(g, x, enc_hidden)
    t = steps // 2
    x = g.node("Reshape", [x, g.const_i64(g.uid("shape"), [0, t, 2 * enc_hidden])], (t, 2 * enc_hidden))
    for _ in range(3):
        x = _lstm(g, x, enc_hidden)
    f = x                                                        # [N, T, 1024]
    y = g.add_input("labels", (labels,), onnx.TensorProto.INT64)
    e = g.node("Gather", [g.weight("embed.weight", (vocab - 1, pred_hidden)), y], (labels, pred_hidden))
    for _ in range(2):
        e = _lstm(g, e, pred_hidden)                             # [N, U, 320]
    if lattice:
        fe = g.node("Expand", [g.node("Unsqueeze", [f, g.const_i64(g.uid("ax"), [2])], (t, 1, enc_hidden)),
                               g.const_i64(g.uid("shape"), [1, t, labels, enc_hidden])], (t, labels, enc_hidden))
        ge = g.node("Expand", [g.node("Unsqueeze", [e, g.const_i64(g.uid("ax"), [1])], (1, labels, pred_hidden)),
                               g.const_i64(g.uid("shape"), [1, t, labels, pred_hidden])], (t, labels, pred_hidden))
        z = g.concat([fe, ge], axis=3)
    else:
        # greedy decoding: one joint evaluation per encoder step (emitting blank) and per label;
        # the evaluated (f, g) pairs gathered along time
        n = t + labels
        fi = g.node("Gather", [f, g.const_i64(g.uid("idx"), np.minimum(np.arange(n) * t // n, t - 1))],
                    (n, enc_hidden), axis=1)
        gi = g.node("Gather", [e, g.const_i64(g.uid("idx"), np.arange(n) * labels // n)], (n, pred_hidden), axis=1)
        z = g.concat([fi, gi], axis=2)
    z = g.act(_matmul_bias(g, z, joint_hidden))
    g.x = _matmul_bias(g, z, vocab)
    return g.build(batch=batch)
