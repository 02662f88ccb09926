r"""Framework facts: which framework a free text names, how it ran, and how it exchanged gradients.

Measurement tables describe the software of a run in prose: ``"TensorFlow 19.07 NGC
(Horovod) + XLA"``, ``"TensorRT (ONNX Runtime TensorRT EP) on Triton Inference Server"``,
``"Caffe2"``, ``"TensorFlow 20.06 NGC, without TensorRT"``, ``"TF-TRT"``,
``"Horovod over MPI (CPU all-reduce)"``. This module reads such text once, by documented
rules, for every consumer: the measurement readers (the ``engine_mode`` column), the
calibration's rows (group keys, the communication backend of each multi-device row) and the
predictors (:func:`plaster_model.resolution.communication_backend` re-exports
:func:`communication_backend` from here). It imports nothing heavy and nothing from the
calibration, so :mod:`plaster_model.resolution` and :mod:`plaster_model.calibration.rows`
both depend on it and not on each other.

Rules
-----
Framework family (:func:`framework_family`)
    Every alias of :data:`FRAMEWORK_ALIASES` found in the text as a word; an alias preceded
    by a negation (``no``, ``not``, ``without``, ``w/o``, ``non-``, a list after one:
    ``"without TensorRT or XLA"``) or followed by ``off``/``disabled``/``=0``/``=false`` does
    not count. The earliest remaining match names the family; at one position the
    **longest** alias wins (``"Caffe2"`` is Caffe2, never BVLC Caffe; ``"TF-TRT"`` is
    TensorFlow with TensorRT). Text naming no known framework gives its first word.
Inference engine (:func:`inference_engine`)
    ``tensorrt`` when TensorRT runs the network (TensorRT, trtexec, TF-TRT, Torch-TensorRT,
    the ONNX Runtime / Triton TensorRT back-ends) and is not negated; else ``onnxruntime``
    when ONNX Runtime does; else ``framework`` (the training framework's own runtime).
Engine mode (:func:`engine_mode`)
    ``server`` when a model server answers requests (Triton / TensorRT Inference Server,
    TensorFlow Serving, TorchServe, a gRPC/HTTP client such as ``perf_analyzer``): its
    latency includes the protocol and queueing; ``harness`` when a benchmark harness drives
    the engine in-process (MLPerf LoadGen, "harness"); else ``engine`` (the engine or the
    framework called directly: trtexec, a Python loop, the framework's benchmark script).
Communication backend (:func:`communication_backend`)
    An explicit backend wins; else the first rule of :data:`BACKEND_RULES` whose pattern is
    in the framework or notes text (negated keywords removed first: "replicated without
    NCCL" is not NCCL; a text naming HPE's DLBS takes what DLBS ran,
    :data:`DLBS_BACKENDS`); else the family's documented default
    (:data:`FRAMEWORK_BACKENDS`); else an NCCL-class all-reduce, stated. A prediction that
    names no framework assumes :data:`DEFAULT_FRAMEWORK` (PyTorch) and says so.

Examples
--------
>>> framework_family("Caffe2"), framework_family("BVLC Caffe 1.0")
('caffe2', 'caffe')
>>> inference_engine("TensorFlow 20.06 NGC, no TensorRT"), inference_engine("TF-TRT 1.14")
('framework', 'tensorrt')
>>> engine_mode("TensorRT (ONNX Runtime TensorRT EP) on Triton Inference Server")
'server'
>>> communication_backend("Caffe2")[0].name
'nccl'
>>> communication_backend("TensorFlow (Horovod over MPI, CPU all-reduce)")[0].name
'mpi'
"""
from __future__ import annotations
from ..errors import UnknownNameError

import functools
import math
import re
from dataclasses import dataclass

__all__ = [
    "FRAMEWORK_ALIASES", "FRAMEWORK_DEFAULT_PRECISION", "INFERENCE_ENGINES", "ENGINE_MODES",
    "Backend", "BACKENDS", "BACKEND_RULES", "FRAMEWORK_BACKENDS", "FrameworkText",
    "parse_framework", "framework_family", "inference_engine", "engine_mode", "engine_key",
    "communication_backend", "negated_spans", "strip_negated", "CAFFE_NCCL", "TF_REPLICATED_NCCL",
    "DLBS_BACKENDS", "DEFAULT_FRAMEWORK",
]

# ---------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------

#: Framework aliases (lower case, matched as words with ``-``, ``_``, ``.`` and space
#: interchangeable) -> family. Longest alias wins at one position, so every fork or
#: successor whose name contains another's is listed under its own family.
FRAMEWORK_ALIASES: dict[str, str] = {
    "tensorrt": "tensorrt", "trtexec": "tensorrt", "tensor rt": "tensorrt",
    "tf-trt": "tensorflow", "tftrt": "tensorflow", "tensorflow-tensorrt": "tensorflow",
    "tensorflow": "tensorflow", "tf": "tensorflow", "keras": "tensorflow", "tpuestimator": "tensorflow",
    "onnxruntime": "onnxruntime", "onnx runtime": "onnxruntime", "onnx-runtime": "onnxruntime",
    "pytorch": "pytorch", "torch": "pytorch", "torch-tensorrt": "pytorch", "torch.compile": "pytorch",
    "mxnet": "mxnet", "apache mxnet": "mxnet", "gluon": "mxnet",
    "paddlepaddle": "paddlepaddle", "paddle": "paddlepaddle",
    "caffe2": "caffe2", "caffe": "caffe", "bvlc caffe": "caffe", "intel caffe": "caffe",
    "nvcaffe": "caffe", "nvidia caffe": "caffe",
    "chainer": "chainer", "chainermn": "chainer",
    "cntk": "cntk", "microsoft cognitive toolkit": "cntk",
    "jax": "jax", "flax": "jax",
    "megatron-lm": "pytorch", "megatron": "pytorch", "deepspeed": "pytorch",
}

#: Precision a framework computes in when a run does not say (each framework's default
#: floating-point type: torch.get_default_dtype() is float32; TensorFlow/Keras floatx()
#: is "float32"; MXNet, Caffe, Chainer, JAX and onnxruntime compute float32 unless the model
#: or a flag says otherwise). TensorRT is absent on purpose: trtexec builds FP32 without
#: --fp16/--int8, but a loaded engine keeps the precision it was built with, which its
#: log need not state.
FRAMEWORK_DEFAULT_PRECISION: dict[str, str] = {
    "pytorch": "fp32", "torch": "fp32", "tensorflow": "fp32", "keras": "fp32", "mxnet": "fp32",
    "caffe": "fp32", "caffe2": "fp32", "chainer": "fp32", "jax": "fp32", "onnxruntime": "fp32",
    "paddlepaddle": "fp32", "cntk": "fp32",
}

#: Inference engines whose per-batch overhead and efficiency are not transferred to each other.
INFERENCE_ENGINES = ("tensorrt", "onnxruntime", "framework")
#: How an inference engine was driven (:func:`engine_mode`).
ENGINE_MODES = ("engine", "harness", "server")

_NEGATION = r"(?:\bno\b|\bnot\b|\bwithout\b|\bw/o\b|\bnon[\s\-]|\bexcluding\b|\bminus\b|\bdisabled?\b)"
#: Words that continue a negated list ("without TensorRT, XLA or AMP").
_LIST_JOIN = r"(?:\s*(?:,|/|\bor\b|\band\b|\bnor\b)\s*)"
_POST_NEGATION = r"\s*(?:=\s*(?:0|false|off|no)\b|\b(?:off|disabled)\b)"

#: Words whose negation the rules care about besides the framework names.
_FEATURE_WORDS = ("nccl", "xla", "amp", "tensorrt", "trt", "triton", "horovod", "mpi", "gloo",
                  "dali", "tf32", "server", "fusion", "gpu all-reduce", "gpu allreduce",
                  "roce", "rdma", "gpudirect", "gpudirect rdma", "infiniband", "ib", "efa")


def _word(alias: str) -> str:
    """Regex of an alias as a whole word; ``-``, ``_``, ``.`` and space interchangeable."""
    parts = [re.escape(p) for p in re.split(r"[\s\-_.]+", alias) if p]
    return r"(?<![a-z0-9])" + r"[\s\-_.]*".join(parts) + r"(?![a-z0-9])"


_ALIAS_RE = {a: re.compile(_word(a)) for a in FRAMEWORK_ALIASES}
_TERM = "|".join(sorted({_word(a) for a in (*FRAMEWORK_ALIASES, *_FEATURE_WORDS)}, key=len, reverse=True))
_NEG_LIST = re.compile(rf"{_NEGATION}\s*(?:the\s+)?(?:{_TERM})(?:{_LIST_JOIN}(?:{_TERM}))*")
_NEG_AFTER = re.compile(rf"(?:{_TERM}){_POST_NEGATION}")


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def negated_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of ``text`` (lower-cased) that a negation covers.

    ``"no TensorRT"``, ``"without TensorRT or XLA"``, ``"w/o NCCL"``, ``"non-XLA"``,
    ``"XLA off"``, ``"use_nccl=false"``.

    >>> t = "TensorFlow, without TensorRT or XLA"
    >>> (a, b), = negated_spans(t)
    >>> t[a:b]
    'without TensorRT or XLA'
    """
    return list(_negated_spans(_text(text).lower()))


@functools.lru_cache(maxsize=4096)
def _negated_spans(low: str) -> tuple[tuple[int, int], ...]:
    # (a table repeats its few framework/notes texts on every row: read each once)
    return tuple(m.span() for m in _NEG_LIST.finditer(low)) + tuple(m.span() for m in _NEG_AFTER.finditer(low))


def strip_negated(text) -> str:
    """``text`` lower-cased with its negated phrases blanked (same length, so positions hold).

    >>> strip_negated("variable_update=replicated without NCCL").strip()
    'variable_update=replicated'
    """
    return _strip_negated(_text(text).lower())


@functools.lru_cache(maxsize=4096)
def _strip_negated(low: str) -> str:
    chars = list(low)
    for a, b in _negated_spans(low):
        chars[a:b] = " " * (b - a)
    return "".join(chars)


@dataclass(frozen=True)
class FrameworkText:
    """What one framework text says (see the module rules).

    Attributes
    ----------
    text : str
        The text as given.
    family : str
        Framework family (``"unknown"`` for empty text).
    engine : str
        Inference engine (:data:`INFERENCE_ENGINES`).
    mode : str
        Engine mode (:data:`ENGINE_MODES`).
    negated : tuple of str
        The negated phrases (``"no TensorRT"``).
    how : str
        Which alias decided the family.
    xla : bool or None
        True when XLA compilation is stated (framework text or notes), False when negated
        (``"no XLA"``, ``"without XLA"``), None when not mentioned.
    """

    text: str
    family: str
    engine: str
    mode: str
    negated: tuple[str, ...] = ()
    how: str = ""
    xla: bool | None = None


def _family(stripped: str, raw: str) -> tuple[str, str]:
    hits = []
    for alias, rx in _ALIAS_RE.items():
        m = rx.search(stripped)
        if m:
            hits.append((m.start(), -(m.end() - m.start()), alias))
    if hits:
        pos, _, alias = min(hits)
        return FRAMEWORK_ALIASES[alias], f"alias {alias!r} at character {pos} (earliest, longest)"
    words = raw.strip().lower().split()
    return (words[0] if words else "unknown"), "no known framework named: its first word"


_TENSORRT = re.compile(r"tensor[\s\-_]?rt|trtexec|(?<![a-z0-9])tf[\s\-_]?trt(?![a-z0-9])|^trt|(?<![a-z0-9])trt(?![a-z0-9])")
_ONNXRUNTIME = re.compile(r"onnx[\s\-_]?runtime|(?<![a-z0-9])ort(?![a-z0-9])")
_SERVER = re.compile(r"triton|inference[\s\-_]server|trtis|(?:tf|tensorflow)[\s\-_]serving|torchserve|"
                     r"model[\s\-_]server|perf_analyzer|perf_client|\bserved\b|\bserving\b|\bgrpc\b|"
                     r"server[\s\-]side|client[\s\-]side|server overhead")
_HARNESS = re.compile(r"harness|loadgen|mlperf[\s\-_]?inference|\bmlperf\b|benchmark_app")


def parse_framework(text, notes=None) -> FrameworkText:
    """Read a framework text (and the run's notes, for the engine mode) by the module rules.

    Parameters
    ----------
    text : str or None
        The framework column (``"TensorRT 7.2 on Triton"``).
    notes : str, optional
        Free-text notes of the run; only the engine mode reads them.

    Returns
    -------
    FrameworkText

    Examples
    --------
    >>> f = parse_framework("TensorFlow 20.06 NGC (no TensorRT)")
    >>> f.family, f.engine, f.mode, f.negated
    ('tensorflow', 'framework', 'engine', ('no tensorrt',))
    >>> parse_framework("TensorFlow 19.07 NGC, without XLA").xla, parse_framework("TF 20.06 + XLA").xla
    (False, True)
    """
    return _parse_framework(_text(text), _text(notes))


@functools.lru_cache(maxsize=4096)
def _parse_framework(raw: str, notes: str) -> FrameworkText:
    low = raw.lower()
    stripped = strip_negated(low)
    if not raw.strip():
        fam, how = "unknown", "no framework given"
    else:
        fam, how = _family(stripped, raw)
    if _TENSORRT.search(stripped):
        engine = "tensorrt"
    elif _ONNXRUNTIME.search(stripped) or fam == "onnxruntime":
        engine = "onnxruntime"
    else:
        engine = "framework"
    both = stripped + " " + strip_negated(_text(notes))
    mode = "server" if _SERVER.search(both) else "harness" if _HARNESS.search(both) else "engine"
    neg = tuple(low[a:b] for a, b in negated_spans(low))
    # XLA from the framework text and the notes ("TF-AMP, no XLA")
    lown = notes.lower()
    said_no = neg + tuple(lown[a:b] for a, b in negated_spans(lown))
    xla = True if re.search(r"(?<![a-z0-9])xla(?![a-z0-9])", both) else \
        False if any(re.search(r"(?<![a-z0-9])xla(?![a-z0-9])", n) for n in said_no) else None
    return FrameworkText(raw, fam, engine, mode, neg, how, xla)


def framework_family(text) -> str:
    """Lower-case framework family of a free-text framework (the module rules).

    Examples
    --------
    >>> framework_family("TensorFlow 20.06 NGC (AMP)"), framework_family("Caffe2 (Gloo)")
    ('tensorflow', 'caffe2')
    >>> framework_family("TensorFlow without TensorRT"), framework_family(None)
    ('tensorflow', 'unknown')
    """
    if not _text(text).strip():
        return "unknown"
    return parse_framework(text).family


def engine_mode(text, notes=None) -> str:
    """``"server"``, ``"harness"`` or ``"engine"``: how an inference run drove its engine.

    >>> engine_mode("TensorRT 8.6 (trtexec)"), engine_mode("TensorRT", "MLPerf Inference v1.0 harness, Offline")
    ('engine', 'harness')
    """
    return parse_framework(text, notes).mode


def engine_key(engine: str, mode: str | None) -> str:
    """Calibration key of an inference engine and its mode: a served engine is its own
    population (its latency carries the server's protocol and queueing time per request),
    while a benchmark harness calls the engine in-process like a bare run, so the two share
    the engine's key.

    >>> engine_key("tensorrt", "server"), engine_key("tensorrt", "harness")
    ('tensorrt (server)', 'tensorrt')
    """
    return f"{engine} (server)" if mode == "server" else engine


def inference_engine(text, notes=None, mode=None) -> str:
    """Engine class of an inference run, as the calibration keys it: ``"tensorrt"``,
    ``"onnxruntime"`` or ``"framework"``, with ``" (server)"`` appended when a model
    server answered (:func:`engine_key`). A TensorRT engine fuses layers and launches few
    kernels, and a server adds protocol time per request, so each is a different
    population from a framework's eager or graph runtime.

    Parameters
    ----------
    text : str
        Framework text.
    notes : str, optional
        The run's notes (may name the server or harness).
    mode : str, optional
        The engine mode when already known (a row's ``engine_mode`` column).

    Examples
    --------
    >>> inference_engine("TensorRT (ONNX Runtime TensorRT EP) on Triton"), inference_engine("TensorFlow 20.06 NGC")
    ('tensorrt (server)', 'framework')
    >>> inference_engine("TensorRT 4.0.0.3 (CUDA 9.0, cuDNN 7)"), inference_engine("PyTorch, without TensorRT")
    ('tensorrt', 'framework')
    """
    f = parse_framework(text, notes)
    return engine_key(f.engine, mode if mode in ENGINE_MODES else f.mode)


# ---------------------------------------------------------------------------------------
# communication backends
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backend:
    """A gradient-exchange backend: the all-reduce it runs and whether it overlaps backprop.

    Attributes
    ----------
    name : str
        Key of :data:`BACKENDS` (the calibration keys η_comm by this name and the link class).
    algorithm : str
        All-reduce algorithm (:data:`plaster_model.estimators.ALGORITHMS`).
    overlap : float
        Fraction in [0, 1] of the exchange that can hide behind the backward pass.
    description : str
        What it is, with its reference.
    placement : str
        Parameter servers only: ``"largest"`` (whole variables on one server each: the
        busiest server holds at least the largest variable) or ``"balanced"`` (every
        variable split evenly over the servers).
    servers_on : str
        Parameter servers only: ``"devices"`` (shards on the GPUs or worker nodes) or
        ``"host"`` (the variables in the host's memory, TensorFlow's
        ``local_parameter_device=cpu``: inside a node every worker pushes and pulls over
        its host link, PCIe, whatever joins the GPUs to each other).
    last_bucket : str
        What is still to reduce when the backward pass ends: ``"bucket"`` (the last fused
        bucket, ``bucket_bytes``: PyTorch DDP, Horovod) or ``"first_layer"`` (gradients
        reduced layer by layer as they are ready, so the last reduction is the first layer's
        gradient, :func:`plaster_model.resolution.first_layer_params`; the bucket rule when
        the model has no operator table).
    """

    name: str
    algorithm: str
    overlap: float
    description: str
    placement: str = "balanced"
    servers_on: str = "devices"
    last_bucket: str = "bucket"


#: Gradient-exchange backends of the stacks that produced published measurements
#: (``shared/BRIEF.md`` §9). ``overlap = 1``: buckets/fused tensors are reduced while
#: backpropagation continues, only the last bucket exposed (PyTorch DDP, Li et al. VLDB 2020;
#: Horovod tensor fusion, Sergeev & Del Balso 2018; MXNet's kvstore pushes and pulls each key
#: as soon as its gradient is computed). Caffe's ``P2PSync`` reduces after the backward pass
#: (``overlap = 0``), and the seed model is serial.
#:
#: TensorFlow 1.x synchronous parameter servers (``parameter_server``): a worker pushes
#: each variable's gradient as soon as backprop computes it, but the updated variables are
#: pulled only after the step's synchronous barrier (every worker's gradient aggregated and
#: applied), and the next forward pass needs them: at most the push half of the exchange
#: hides behind backprop (``overlap = 0.5``). TensorFlow places **whole variables** on the
#: servers (``tf.train.replica_device_setter`` assigns each variable to one ps task), so
#: the busiest server carries at least the largest variable (VGG-16's fc6, 411 MB at fp32):
#: ``placement = "largest"``. MXNet's kvstore splits large arrays over the servers
#: (``MXNET_KVSTORE_BIGARRAY_BOUND``), so ``kvstore`` is balanced and fully overlapped; it
#: shares the ``parameter_server`` η_comm key (same push/pull traffic).
BACKENDS: dict[str, Backend] = {
    "nccl": Backend("nccl", "auto", 1.0,
                    "NCCL all-reduce (Horovod, PyTorch DDP, TF replicated+NCCL, Caffe2, MXNet NCCL "
                    "kvstore): rings inside a node, multi-rail rings or hierarchical across nodes"),
    "parameter_server": Backend("parameter_server", "parameter_server", 0.5,
                                "TensorFlow 1.x synchronous parameter servers (variable_update="
                                "parameter_server / distributed_replicated across nodes, replicated "
                                "without NCCL): each worker pushes its gradient and pulls the model; "
                                "whole variables per server; the pull waits for the step's barrier",
                                placement="largest"),
    "mpi": Backend("mpi", "halving_doubling", 1.0,
                   "MPI all-reduce of host-memory tensors (Horovod without GPU all-reduce, Intel "
                   "Caffe's MLSL): recursive halving-doubling (MPICH's large-message algorithm, "
                   "Thakur et al. 2005), overlapped by Horovod's background thread"),
    "gloo": Backend("gloo", "halving_doubling", 1.0,
                    "Gloo all-reduce (Caffe2 across servers, Goyal et al. 2017: recursive "
                    "halving-doubling; PyTorch/Horovod gloo back-end)"),
    "p2p_tree": Backend("p2p_tree", "tree", 0.0,
                        "Caffe multi-GPU P2PSync before 1.0 (or built without NCCL): a binary reduction "
                        "tree over PCIe after the backward pass (the seed's tree model)"),
    "tpu": Backend("tpu", "ring", 1.0, "TPU all-reduce over the inter-chip interconnect (2-D torus rings)"),
    "seed": Backend("seed", "tree", 0.0, "the HPE Deep Learning Cookbook's tree 2·w·log2(p)/β, serial"),
}

#: MXNet kvstore: parameter-server traffic, balanced (big arrays split over the servers) and
#: overlapped key by key; η_comm keyed with the parameter servers.
KVSTORE = Backend("parameter_server", "parameter_server", 1.0,
                  "MXNet kvstore (local/device/dist_sync): push and pull per key as gradients are "
                  "computed; large arrays split over the servers", placement="balanced")

#: TensorFlow parameter servers on the host CPU (``local_parameter_device=cpu``): the host's
#: memory serves every variable (balanced), each worker's traffic crosses its PCIe link.
PS_ON_HOST = Backend("parameter_server", "parameter_server", 0.5,
                     "TensorFlow 1.x parameter servers on the host CPU (local_parameter_device=cpu): "
                     "each GPU pushes its gradient to and pulls the model from host memory over its "
                     "PCIe link", placement="balanced", servers_on="host")

#: BVLC Caffe 1.0 built with NCCL (``USE_NCCL=1``; HPE DLBS's ``docker/bvlc_caffe`` images
#: build it so): ``caffe::NCCL<Dtype>`` registers itself as the net's after-backward
#: callback and, per layer (``SolverParameter.layer_wise_reduce``, default true), starts
#: ``ncclAllReduce`` of that layer's gradients on its own stream while backpropagation goes
#: on to the layers below (BVLC/caffe ``src/caffe/parallel.cpp``, ``NCCL<Dtype>::run(int
#: layer)``; ``src/caffe/proto/caffe.proto``: "Overlap compute and communication for data
#: parallel training"). NCCL ring traffic, η_comm keyed with ``nccl``; the buckets are the
#: layers, so the last one exposed is the first layer's (small) gradient
#: (``last_bucket = "first_layer"``: VGG-16's conv1_1, 1,792 parameters, not a 25 MiB bucket).
CAFFE_NCCL = Backend("nccl", "auto", 1.0,
                     "BVLC Caffe 1.0 with NCCL: layer-wise ncclAllReduce on a separate stream, "
                     "overlapped with the rest of the backward pass (layer_wise_reduce=true)",
                     last_bucket="first_layer")

#: Caffe2 ``data_parallel_model`` on one host: one ``NCCLAllreduce`` per gradient blob, in
#: reverse order of the parameters ("for the optimal synchronization order",
#: ``_GetReverseOrderedGrads``), each chained to the previous one by a control input
#: ("last_out is used to serialize the execution of nccls") and started by the DAG executor
#: as soon as its gradient exists (pytorch/pytorch ``caffe2/python/data_parallel_model.py``).
#: A layer-wise FIFO pipeline like Caffe's: the last reduction is the first layer's gradient.
CAFFE2_NCCL = Backend("nccl", "auto", 1.0,
                      "Caffe2 data_parallel_model: one NCCL all-reduce per gradient, in reverse "
                      "parameter order, chained, each started when its gradient exists",
                      last_bucket="first_layer")

#: TensorFlow 1.x tf_cnn_benchmarks ``variable_update=replicated`` with NCCL (2017): each
#: variable's tower gradients are all-summed by NCCL and applied to every GPU's copy. The
#: exchange is modelled as not hidden behind backprop (``overlap = 0``): the script builds the
#: cross-tower aggregation on the list of all towers' gradients
#: (``variable_mgr.preprocess_device_grads``) and the benchmark's own DGX-1 rows (VGG-16,
#: 8 × P100 over NVLink, 71 % weak-scaling efficiency at batch 32) leave more time exposed
#: than an NVLink ring needs for the whole gradient: with overlap 1 they fit an η_comm of
#: 5 % of NVLink's payload rate, which no link runs at. η_comm keyed with ``nccl``.
TF_REPLICATED_NCCL = Backend("nccl", "auto", 0.0,
                             "TensorFlow 1.x tf_cnn_benchmarks variable_update=replicated with NCCL: "
                             "per-variable NCCL all-sum after the towers' backward pass, not hidden")

# (pattern in the framework/notes text with negated phrases removed, backend, why) in
# order: the first match wins.
BACKEND_RULES: tuple[tuple[str, str, str], ...] = (
    (r"\bgloo\b", "gloo", "Gloo all-reduce stated"),
    (r"horovod\s*(?:\(|over|with|via|using|on|/|\+|-)\s*(?:open\s*)?mpi\b|\bmpi[\s\-_]*all-?reduce|"
     r"cpu[\s\-_]*all-?reduce|all-?reduce (?:on|in) (?:the )?(?:cpus?|host)|horovod_gpu_allreduce\s*=\s*mpi|"
     r"mpi_allreduce|horovod[^;]*\bcpu (?:tensors?|all-?reduce)",
     "mpi", "Horovod/MPI all-reduce of host (CPU) tensors stated"),
    (r"horovod", "nccl", "Horovod runs NCCL all-reduce of fused tensors"),
    (r"intel[\s\-_]*caffe|\bmlsl\b", "mpi", "Intel Caffe's multi-node training runs MLSL (MPI) all-reduce"),
    (r"nv[\s\-_]?caffe|nvidia caffe", "nccl", "NVCaffe reduces gradients with NCCL"),
    (r"variable_update\s*=\s*replicated.*nccl|nccl.*variable_update\s*=\s*replicated", "tf_replicated_nccl",
     "variable_update=replicated with NCCL (TensorFlow 1.x tf_cnn_benchmarks): the all-sum is not hidden"),
    (r"\bp2p[\s\-_]?sync\b|caffe[\s\-_]*(?:1\.0[\s\-_]*)?rc\d", "p2p_tree",
     "Caffe's pre-1.0 P2PSync tree stated"),
    (r"(?:bvlc[\s\-_]*)?caffe(?![\s\-_]*2)[^;]*\bnccl\b", "caffe_nccl",
     "BVLC Caffe with NCCL: layer-wise all-reduce overlapped with the backward pass"),
    (r"\bnccl\b", "nccl", "NCCL all-reduce stated"),
    (r"\bdlbs\b|deep[\s\-_]*learning[\s\-_]*cookbook", "dlbs",
     "HPE Deep Learning Benchmarking Suite (DLBS) defaults for the framework"),
    (r"variable_update\s*=\s*distributed_replicated", "parameter_server",
     "distributed_replicated: replicated inside a node, parameter servers across nodes"),
    (r"variable_update\s*=\s*parameter_server[^;]*local_parameter_device\s*=\s*cpu|"
     r"local_parameter_device\s*=\s*cpu[^;]*variable_update\s*=\s*parameter_server", "ps_on_host",
     "variable_update=parameter_server, local_parameter_device=cpu: the variables in host memory"),
    (r"variable_update\s*=\s*parameter_server|\bparameter[\s\-_]servers?\b", "parameter_server",
     "variable_update=parameter_server"),
    (r"variable_update\s*=\s*replicated", "parameter_server",
     "variable_update=replicated without NCCL: each variable's gradients summed on one GPU "
     "(whole variables, round robin) and copied back, parameter-server traffic"),
    (r"kvstore\s*[=:]?\s*['\"]?horovod", "nccl", "MXNet kvstore=horovod (NCCL all-reduce)"),
    (r"kvstore\s*[=:]?\s*['\"]?nccl", "nccl", "MXNet kvstore=nccl"),
    (r"kvstore\s*[=:]?\s*['\"]?(dist_sync|dist_device_sync|dist_async|local)", "kvstore",
     "MXNet kvstore parameter server"),
    (r"kvstore\s*[=:]?\s*['\"]?device", "kvstore",
     "MXNet kvstore=device: each gradient reduced on one GPU (sharded over the GPUs)"),
    (r"\btpu", "tpu", "TPU all-reduce"),
    (r"ddp|distributeddataparallel", "nccl", "PyTorch DDP over NCCL"),
)

#: Framework family -> (default backend, documented default, backend across nodes or None).
FRAMEWORK_BACKENDS: dict[str, tuple[str, str, str | None]] = {
    "tensorflow": ("parameter_server", "tf_cnn_benchmarks' default variable_update=parameter_server", None),
    "pytorch": ("nccl", "PyTorch DistributedDataParallel over NCCL", None),
    "mxnet": ("kvstore", "MXNet's default kvstore ('device' for multi-GPU training scripts)", None),
    "caffe2": ("caffe2_nccl", "Caffe2 data_parallel_model: NCCL all-reduce per gradient (reverse parameter "
               "order) inside a server, Gloo across servers (Goyal et al. 2017, 'Accurate, Large "
               "Minibatch SGD', §4)", "gloo"),
    "caffe": ("caffe_nccl", "BVLC Caffe 1.0 multi-GPU training built with NCCL (as HPE DLBS built it): "
              "layer-wise NCCL all-reduce overlapped with the backward pass (layer_wise_reduce=true); "
              "name 'P2PSync' or backend='p2p_tree' for the pre-1.0 tree", None),
    "paddlepaddle": ("nccl", "PaddlePaddle ParallelExecutor NCCL all-reduce", None),
    "chainer": ("nccl", "ChainerMN pure_nccl communicator", None),
    "jax": ("nccl", "JAX pmap/psum over NCCL", None),
}

#: The framework a prediction assumes when none is named (stated in its assumptions): PyTorch
#: DistributedDataParallel, NCCL all-reduce in 25 MB buckets overlapped with the backward pass
#: (Li et al., VLDB 2020) — what an NCCL-class library runs today.
DEFAULT_FRAMEWORK = "PyTorch"

_BACKEND_ALIASES = {"auto": "nccl", "horovod": "nccl", "ddp": "nccl", "ps": "parameter_server",
                    "tree": "seed", "caffe": "p2p_tree", "kvstore": "kvstore"}


#: What HPE's Deep Learning Benchmarking Suite (DLBS, the Cookbook's benchmark runner) runs
#: for each family unless told otherwise (HewlettPackard/dlcookbook-dlbs, first public commit
#: 2017-11-20: ``python/dlbs/configs/tensorflow.json`` ``tensorflow.var_update = "replicated"``,
#: ``tensorflow.use_nccl = "true"``, ``local_parameter_device = "cpu"``;
#: ``docker/bvlc_caffe/*/Dockerfile`` builds BVLC Caffe master with ``-DUSE_NCCL=1``;
#: ``configs/mxnet.json`` ``mxnet.kv_store = "device"``). Family -> (backend, why).
#:
#: Caffe2 is left to its family default (layer-wise NCCL, overlapped) on purpose: DLBS's
#: ``caffe2_benchmarks`` calls ``data_parallel_model.Parallelize`` without ``use_nccl``, whose
#: single-host path sums each gradient up a peer-to-peer tree onto GPU 0 and copies it back
#: to the 7 others; over PCIe 3.0 those 7 copies of VGG-16's 553 MB alone leave GPU 0 in
#: 7·w/β ≈ 246 ms, three times the 81 ms step the Cookbook measured for Caffe2, so that path
#: cannot be what ran there (an open question: the measured box may differ from the catalog's).
DLBS_BACKENDS: dict[str, tuple[str, str]] = {
    "tensorflow": ("tf_replicated_nccl", "HPE DLBS runs tf_cnn_benchmarks with variable_update=replicated, "
                                         "use_nccl=true (dlcookbook-dlbs configs/tensorflow.json)"),
    "caffe": ("caffe_nccl", "HPE DLBS builds BVLC Caffe with USE_NCCL=1 (layer-wise NCCL all-reduce)"),
    "mxnet": ("kvstore", "HPE DLBS runs MXNet with kv_store='device' (dlcookbook-dlbs configs/mxnet.json)"),
}


def _backend(name: str) -> Backend:
    return {"kvstore": KVSTORE, "ps_on_host": PS_ON_HOST, "caffe_nccl": CAFFE_NCCL, "caffe2_nccl": CAFFE2_NCCL,
            "tf_replicated_nccl": TF_REPLICATED_NCCL}.get(name) or BACKENDS[name]


def communication_backend(framework=None, notes=None, backend=None, multi_node=None) -> tuple[Backend, str]:
    """The gradient-exchange backend of a run, and how it was decided (the module rules).

    Parameters
    ----------
    framework : str, optional
        Free-text framework ("TensorFlow 19.07 NGC (Horovod)").
    notes : str, optional
        Free-text run notes ("variable_update=parameter_server").
    backend : str, optional
        An explicit backend name (a key of :data:`BACKENDS`, ``"kvstore"``, or ``"auto"``
        for NCCL): wins over the texts.
    multi_node : bool, optional
        Whether the run spans nodes (a framework whose default differs across nodes, such
        as Caffe2's Gloo, takes that one).

    Returns
    -------
    (Backend, str)
        The backend and a sentence saying why (an explicit name, a keyword found in the
        texts, the framework's documented default, or ``auto`` when nothing is known).

    Raises
    ------
    KeyError
        For an unknown explicit backend name (with the known ones).

    Examples
    --------
    >>> b, why = communication_backend("TensorFlow (tf_cnn_benchmarks)", "variable_update=replicated with NCCL")
    >>> b.name, b.algorithm
    ('nccl', 'auto')
    >>> communication_backend("TensorFlow (tf_cnn_benchmarks)")[0].placement
    'largest'
    >>> communication_backend("TensorFlow", "variable_update=replicated without NCCL")[0].name
    'parameter_server'
    >>> communication_backend("Caffe2", multi_node=True)[0].name
    'gloo'
    """
    if backend is not None:
        key = str(backend).strip().lower().replace("-", "_").replace(" ", "_")
        key = _BACKEND_ALIASES.get(key, key)
        if key not in BACKENDS and key not in ("kvstore", "ps_on_host", "caffe_nccl", "caffe2_nccl",
                                                             "tf_replicated_nccl"):
            import difflib

            close = difflib.get_close_matches(key, list(BACKENDS), n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownNameError(f"backend {backend!r} is unknown; expected one of {sorted(BACKENDS)} or 'auto'{hint}")
        return _backend(key), f"backend {key!r} as given"
    return _backend_from_texts(framework if isinstance(framework, str) else None,
                               notes if isinstance(notes, str) else None, bool(multi_node))


@functools.lru_cache(maxsize=4096)
def _backend_from_texts(framework, notes, multi_node) -> tuple[Backend, str]:
    text = " ".join(strip_negated(t) for t in (framework, notes) if isinstance(t, str))
    fam = framework_family(framework) if isinstance(framework, str) and framework.strip() else "unknown"
    for pattern, name, why in BACKEND_RULES:
        if re.search(pattern, text):
            if name == "dlbs":
                if fam not in DLBS_BACKENDS:
                    continue
                name, why = DLBS_BACKENDS[fam]
            return _backend(name), why
    if fam in FRAMEWORK_BACKENDS:
        name, why, across = FRAMEWORK_BACKENDS[fam]
        if multi_node and across:
            return _backend(across), f"not stated: {why}; across nodes {across} assumed"
        return _backend(name), f"not stated: {why} assumed"
    return BACKENDS["nccl"], "not stated: an NCCL-class all-reduce ('auto') assumed"
