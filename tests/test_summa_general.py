"""SUMMA generalized: rectangular GEMMs, non-square grids, precisions, time, FC layers."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import plaster_model as pm


def test_seed_functions_unchanged():
    # HPE slides: n = 2000, γ = 15 TFLOPS, FP32 -> 300 GB/s (p = 10), 30 GB/s (p = 1)
    assert pm.summa_bandwidth_bound(2000, "15 TFLOPS", 10) == pytest.approx(300e9)
    assert pm.summa_bandwidth_bound(2000, 15e12, 1) == pytest.approx(30e9)
    assert pm.summa_compute_time(2000, 10, "15 TFLOPS") == pytest.approx(2 * 8e9 / (100 * 15e12))
    assert pm.summa_data_read_time(2000, 10, "300 GB/s") == pytest.approx(2 * 4e6 * 4 / (10 * 300e9))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(16, 100_000), p=st.integers(1, 64), gamma=st.floats(1e11, 1e15), beta=st.floats(1e9, 1e12),
       prec=st.sampled_from(["fp32", "fp16", "fp64", "int8"]))
def test_square_case_reduces_to_the_seed(n, p, gamma, beta, prec):
    assert pm.summa_gemm_compute_time(n, n, n, gamma, p, p) == pytest.approx(pm.summa_compute_time(n, p, gamma), rel=1e-12)
    assert pm.summa_gemm_data_read_time(n, n, n, beta, p, p, prec) == pytest.approx(
        pm.summa_data_read_time(n, p, beta, prec), rel=1e-12)
    assert pm.summa_gemm_bandwidth_bound(n, n, n, gamma, p, p, prec) == pytest.approx(
        pm.summa_bandwidth_bound(n, gamma, p, prec), rel=1e-12)


def test_rectangular_non_square_grid_hand_values():
    # C(1000×4000) = A(1000×4000)·B(4000×4000) on a 2 × 8 grid, γ = 15 TFLOPS, fp32:
    # compute 2·1000·4000·4000 / (16 · 15e12) = 3.2e10/2.4e14 = 1.3333e-4 s
    # read    4·(1000·4000/2 + 4000·4000/8)/β = 4·(2e6 + 2e6)/β = 1.6e7/β
    # bound   β = 1.6e7 / 1.3333e-4 = 1.2e11 = 4·15e12·(2/1000 + 8/4000)/2
    m, k, n = 1000, 4000, 4000
    assert pm.summa_gemm_compute_time(m, k, n, 15e12, 2, 8) == pytest.approx(3.2e10 / 2.4e14)
    assert pm.summa_gemm_data_read_time(m, k, n, 1e11, 2, 8) == pytest.approx(1.6e7 / 1e11)
    bound = pm.summa_gemm_bandwidth_bound(m, k, n, 15e12, 2, 8)
    assert bound == pytest.approx(120e9)
    assert pm.summa_gemm_data_read_time(m, k, n, bound, 2, 8) == pytest.approx(
        pm.summa_gemm_compute_time(m, k, n, 15e12, 2, 8))
    # the grid's orientation matters for a tall-and-skinny C: put the rows of the grid on
    # the long side. 8 × 2 on the same GEMM: 4·15e12·(8/1000 + 2/4000)/2 = 255 GB/s
    assert pm.summa_gemm_bandwidth_bound(m, k, n, 15e12, 8, 2) == pytest.approx(255e9)


def test_precision_element_size():
    # fp16 moves half the bytes of fp32, int8 a quarter
    b32 = pm.summa_gemm_bandwidth_bound(4096, 1024, 4096, 125e12, 2, 4, "fp32")
    assert pm.summa_gemm_bandwidth_bound(4096, 1024, 4096, 125e12, 2, 4, "mixed") == pytest.approx(b32 / 2)
    assert pm.summa_gemm_bandwidth_bound(4096, 1024, 4096, 125e12, 2, 4, "int8") == pytest.approx(b32 / 4)


def test_summa_time_is_max_or_sum():
    # at half the bound the read takes twice the compute: T = 2·T_c (pipelined) or 3·T_c (serial)
    tc = pm.summa_compute_time(2000, 10, 15e12)
    assert pm.summa_time(2000, 2000, 2000, 15e12, 150e9, 10) == pytest.approx(2 * tc)
    assert pm.summa_time(2000, 2000, 2000, 15e12, 150e9, 10, overlap=False) == pytest.approx(3 * tc)
    assert pm.summa_time(2000, 2000, 2000, 15e12, 600e9, 10) == pytest.approx(tc)
    arr = pm.summa_time(2000, 2000, 2000, 15e12, np.array([150e9, 600e9]), 10)
    np.testing.assert_allclose(arr, [2 * tc, tc])


def test_summa_grid():
    assert pm.summa_grid(1) == (1, 1)
    assert pm.summa_grid(8) == (2, 4)
    assert pm.summa_grid(64) == (8, 8)
    assert pm.summa_grid(12) == (3, 4)
    with pytest.raises(ValueError):
        pm.summa_grid(0)


def test_summa_layers_from_list_and_frame():
    # VGG-16 FC layers at batch 256: (256 × 25088)·(25088 × 4096), 4096→4096, 4096→1000
    shapes = [(256, 25088, 4096), (256, 4096, 4096), (256, 4096, 1000)]
    df = pm.summa_layers(shapes, gamma=15.7e12, beta=25e9, devices=8)
    assert list(df.columns[:4]) == ["layer", "m", "k", "n"]
    assert (df["pr"] == 2).all() and (df["pc"] == 4).all()
    # first layer: 2·256·25088·4096 FLOP over 8 devices at 15.7 TFLOPS
    assert df.loc[0, "compute_time_s"] == pytest.approx(2 * 256 * 25088 * 4096 / (8 * 15.7e12))
    # fp32 bound: 4·15.7e12·(2/256 + 4/4096)/2 = 276 GB/s > 25 GB/s
    assert df.loc[0, "bandwidth_bound_Bps"] == pytest.approx(4 * 15.7e12 * (2 / 256 + 4 / 4096) / 2)
    assert (df["bound"] == "bandwidth").all()
    assert df.attrs["time_s"] == pytest.approx(df["time_s"].sum())
    same = pm.summa_layers(pd.DataFrame(shapes, columns=["m", "k", "n"]), 15.7e12, 25e9, grid=(2, 4))
    np.testing.assert_allclose(same["time_s"], df["time_s"])
    train = pm.summa_layers(shapes, 15.7e12, 25e9, devices=8, training=True)
    np.testing.assert_allclose(train["compute_time_s"], 3 * df["compute_time_s"])


def test_summa_layers_from_an_onnx_layer_table():
    # rows as plaster_model.onnx_import.onnx_layer_table gives them: a Gemm (batch 32,
    # 512 -> 10) and a MatMul over a sequence (32 × 128 tokens, 768 -> 3072); convolutions skipped
    table = pd.DataFrame([
        {"layer": "conv", "op_type": "Conv", "macs": 1e9, "output_shape": (32, 64, 56, 56)},
        {"layer": "fc", "op_type": "Gemm", "macs": 32 * 512 * 10, "output_shape": (32, 10)},
        {"layer": "mlp", "op_type": "MatMul", "macs": 32 * 128 * 768 * 3072, "output_shape": (32, 128, 3072)},
    ])
    df = pm.summa_layers(table, 15e12, 100e9, devices=4)
    assert list(df["layer"]) == ["fc", "mlp"]
    assert df[["m", "k", "n"]].values.tolist() == [[32, 512, 10], [32 * 128, 768, 3072]]
    with pytest.raises(ValueError, match="Gemm/MatMul"):
        pm.summa_layers(table.iloc[:1], 15e12, 100e9, devices=4)
    with pytest.raises(ValueError, match="devices"):
        pm.summa_layers([(1, 2, 3)], 15e12, 100e9)


# --------------------------------------------------------------------------- a model's FC layers
def test_summa_layers_from_a_zoo_name():
    # VGG-16's fully connected layers (Simonyan & Zisserman 2015, Table 1, configuration D):
    # 7·7·512 = 25088 -> 4096 -> 4096 -> 1000. Their weights plus biases,
    # 25088·4096 + 4096 + 4096·4096 + 4096 + 4096·1000 + 1000 = 123,642,856, leave
    # 138,357,544 − 123,642,856 = 14,714,688 for the 13 convolutions (the well-known
    # VGG-16 convolutional-base count): the zoo's shapes agree with its parameter count.
    fc = pm.load_model("VGG-16").fully_connected
    assert sum(k * n + n for k, n in fc) == 123_642_856
    assert pm.load_model("VGG-16").params - 123_642_856 == 14_714_688
    by_name = pm.summa_layers("VGG-16", gamma=15.7e12, beta=25e9, devices=8, batch=256)
    by_shape = pm.summa_layers([(256, 25088, 4096), (256, 4096, 4096), (256, 4096, 1000)],
                               gamma=15.7e12, beta=25e9, devices=8)
    assert by_name[["m", "k", "n"]].values.tolist() == by_shape[["m", "k", "n"]].values.tolist()
    assert by_name.attrs["time_s"] == by_shape.attrs["time_s"]
    # and from the Model object itself; fc1 at batch 64 on a 2 x 4 grid: 2·64·25088·4096 / (8·γ)
    df = pm.summa_layers(pm.load_model("VGG-16"), gamma=15.7e12, beta=25e9, devices=8, batch=64)
    assert df.loc[0, "compute_time_s"] == pytest.approx(2 * 64 * 25088 * 4096 / (8 * 15.7e12))


def test_summa_layers_from_an_onnx_model_rescales_the_batch():
    pytest.importorskip("onnx")
    from plaster_model.onnx_builders import tiny_mlp

    m = pm.Model.from_onnx(tiny_mlp(), batch=4)  # Gemm 256 -> 512 -> 128 (tiny_mlp defaults)
    df = pm.summa_layers(m, gamma=1e12, beta=1e9, devices=4, batch=32)
    assert df[["m", "k", "n"]].values.tolist() == [[32, 256, 512], [32, 512, 128]]


def test_summa_layers_model_needs_a_batch_and_fc_layers():
    with pytest.raises(pm.ParameterError, match="batch"):
        pm.summa_layers("VGG-16", gamma=15.7e12, beta=25e9, devices=8)
    with pytest.raises(ValueError, match="fully_connected"):
        pm.summa_layers("ResNet-50", gamma=15.7e12, beta=25e9, devices=8, batch=32)
