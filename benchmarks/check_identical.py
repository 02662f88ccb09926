"""Bit-identity check for speed work: many ``predict_training`` / ``predict_epoch_time`` /
``is_bandwidth_bound`` answers (every field, assumptions included, or the error raised),
written to a file, so that the same script run on two trees shows a speed change changed
no number.

Usage (the first run on the tree before the change, the second on the tree after it)::

    PYTHONPATH=/work/main .venv/bin/python benchmarks/check_identical.py dump /tmp/before.txt
    PYTHONPATH=$PWD      .venv/bin/python benchmarks/check_identical.py dump /tmp/after.txt
    .venv/bin/python benchmarks/check_identical.py compare /tmp/before.txt /tmp/after.txt

Each answer is one line, floats written with ``repr`` (shortest round-trip form: two
lines agree only if every float is the same double). A fresh process per dump, so the
caches start empty; each configuration is also asked twice (the second answer comes from
the prediction cache and must be the same object's text).
"""
from __future__ import annotations

import dataclasses
import itertools
import sys
import warnings


def _text(obj) -> str:
    if dataclasses.is_dataclass(obj):
        return repr(dataclasses.asdict(obj))
    return repr(obj)


def _configs():
    models = ["ResNet-50", "VGG-16", "GPT-2 XL", "BERT-large", "EfficientNet-B0", "OPT-1.3B"]
    clusters = [
        ("V100", 1, {}),
        ("V100", 8, dict(devices_per_node=8, intra_node="NVLink 2")),
        ("V100", 32, dict(devices_per_node=8, intra_node="NVLink 2", interconnect="InfiniBand EDR",
                          nics_per_node=4)),
        ("A100-80GB", 2, dict(devices_per_node=8, intra_node="NVLink 3", interconnect="InfiniBand HDR")),
        ("A100-80GB", 64, dict(devices_per_node=8, intra_node="NVLink 3", interconnect="InfiniBand HDR")),
        ("H100", 16, dict(devices_per_node=8, intra_node="NVLink 4", interconnect="InfiniBand NDR",
                          nics_per_node=8)),
        ("P100", 4, dict(devices_per_node=1, interconnect="10GbE")),
    ]
    precisions = ["fp32", "fp16", "mixed"]
    algorithms = ["auto", "tree", "ring", "hierarchical", "parameter_server", "multirail_ring"]
    options = [{}, dict(overlap=0.7), dict(overlap=1.0, bucket_bytes=None), dict(check_memory=False),
               dict(scaling="strong", global_batch=256)]
    for m, c, q, a, o in itertools.product(models, clusters, precisions, algorithms, options):
        for b in (1, 32):
            yield m, c, q, a, o, b


def dump(path):
    import plaster_model as pm

    lines = []
    for m, (dev, n, kw), q, a, o, b in _configs():
        o = dict(o)
        scaling = o.pop("scaling", "weak")
        batch = None if "global_batch" in o else b
        tag = f"{m}|{dev}x{n}|{q}|{a}|{sorted(o.items())}|{scaling}|{b}"
        for fn in ("predict_training", "predict_training", "predict_epoch_time", "is_bandwidth_bound"):
            try:
                with warnings.catch_warnings(record=True) as said:
                    warnings.simplefilter("always")
                    c = pm.Cluster(dev, n, **kw)
                    if fn == "predict_training":
                        r = pm.predict_training(m, c, batch, q, scaling, a, **o)
                    elif fn == "predict_epoch_time":
                        r = pm.predict_epoch_time(m, c, 1_281_167, 2, batch, q, scaling, a, **o)
                    else:
                        if "check_memory" in o or "global_batch" in o:
                            continue
                        r = pm.is_bandwidth_bound(m, c, batch, q, scaling, a, **o)
                text = _text(r) + " warnings=" + repr([str(w.message) for w in said])
            except Exception as exc:  # noqa: BLE001 - the error is part of the answer
                text = f"{type(exc).__name__}: {exc}"
            lines.append(f"{fn}|{tag} => {text}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"{len(lines)} answers written to {path}")


def compare(a, b):
    la, lb = open(a).read().splitlines(), open(b).read().splitlines()
    diff = [(x, y) for x, y in zip(la, lb) if x != y]
    n_err = sum("=> " in x and not x.split("=> ", 1)[1].startswith(("{", "BandwidthVerdict")) for x in la)
    print(f"{len(la)} vs {len(lb)} answers ({n_err} errors among them); differing: {len(diff)}")
    for x, y in diff[:5]:
        print("-", x[:400]); print("+", y[:400])
    return 0 if not diff and len(la) == len(lb) else 1


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
