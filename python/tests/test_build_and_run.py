"""opal.build / CompiledModel: the three kinds of model, NumPy and torch, no copies, bench,
profile, manifest, and the errors a user meets."""

import os

import numpy as np
import pytest
import torch

import opal
from conftest import rel_l2


def reference(x, w1, w2):
    return np.maximum(x @ w1, 0) @ w2


def test_onnx_file_runs_on_numpy_and_matches_numpy(two_matmuls, cache):
    path, _, w1, w2 = two_matmuls
    m = opal.build(path, store=False, cache=cache)
    assert [i.name for i in m.inputs] == ["x"] and m.inputs[0].shape == (8, 24)
    x = np.random.default_rng(1).uniform(-1, 1, (8, 24)).astype(np.float32)
    y = m(x)
    assert isinstance(y, np.ndarray) and y.shape == (8, 16)
    assert rel_l2(y, reference(x, w1, w2)) < 1e-5
    assert rel_l2(m(x=x), y) == 0  # by name, same result


def test_model_proto_and_torch_tensors_without_copies(two_matmuls, cache):
    _, proto, w1, w2 = two_matmuls
    m = opal.build(proto, store=False, cache=cache)
    x = torch.rand(8, 24) * 2 - 1
    y = m(x)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32 and tuple(y.shape) == (8, 16)
    assert rel_l2(y.numpy(), reference(x.numpy(), w1, w2)) < 1e-5
    # The runtime reads the tensor's own memory: a change in place shows in the next result.
    x.mul_(-1)
    assert rel_l2(m(x).numpy(), reference(x.numpy(), w1, w2)) < 1e-5
    # A non-contiguous view or another dtype is converted (copied) and still right.
    xt = torch.rand(24, 8, dtype=torch.float64).t()
    assert rel_l2(m(xt).numpy(), reference(xt.numpy().astype(np.float32), w1, w2)) < 1e-5


def test_torch_module_with_example_inputs(cache):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 5)).eval()
    with torch.no_grad():  # give batch norm statistics that are not the identity
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 16, 16)
    m = opal.build(net, example_inputs=(x,), store=False, cache=cache)
    with torch.no_grad():
        want = net(x)
    assert rel_l2(m(x).numpy(), want.numpy()) < 1e-4
    x2 = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert rel_l2(m(x2).numpy(), net(x2).numpy()) < 1e-4


def test_bench_profile_and_manifest(two_matmuls, cache):
    path, _, _, _ = two_matmuls
    m = opal.build(path, store=False, cache=cache)
    lat = m.bench(runs=7, warmup=1)
    assert lat.runs == 7 and 0 < lat.min_ms <= lat.p50_ms <= lat.p90_ms <= lat.p99_ms <= lat.max_ms
    assert "p50" in str(lat)
    prof = m.profile(runs=3)
    assert len(prof) >= 2 and all(k.mean_s >= 0 for k in prof)
    assert abs(sum(k.share for k in prof) - 1) < 1e-9
    assert prof == sorted(prof, key=lambda k: -k.mean_s)
    tunable = [n for n in m.manifest.nodes if n.workload_key]
    assert len(tunable) == 2
    # Without a store every tunable node has the template's default schedule, with its config.
    assert {n.source for n in tunable} == {"default"}
    assert all(n.config.startswith("{") for n in tunable)
    assert set(m.manifest.schedules()) == {n.kernel for n in m.manifest.nodes if n.kernel}


def test_out_dir_is_kept_and_load_reads_it(two_matmuls, cache, tmp_path):
    path, _, w1, w2 = two_matmuls
    out = tmp_path / "built"
    opal.build(path, store=False, cache=cache, out_dir=out)
    assert (out / "libmodel.so").exists() and (out / "manifest.json").exists()
    m = opal.load(out)
    x = np.ones((8, 24), np.float32)
    assert rel_l2(m(x), reference(x, w1, w2)) < 1e-5


def test_temporary_build_folder_goes_with_the_model(two_matmuls, cache):
    import gc
    m = opal.build(two_matmuls[0], store=False, cache=cache)
    folder = m.path
    assert os.path.isdir(folder)
    del m
    gc.collect()
    assert not os.path.exists(folder)


def test_errors_carry_the_cli_messages(two_matmuls, cache, tmp_path):
    with pytest.raises(opal.NotFoundError) as e:
        opal.build(str(tmp_path / "missing.onnx"), store=False, cache=cache)
    assert e.value.exit_code == 3 and e.value.code == "not-found"
    assert "missing.onnx" in str(e.value) and "\n" not in str(e.value)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(opal.InvalidModelError) as e:
        opal.build(str(bad), store=False, cache=cache)
    assert e.value.exit_code == 4
    m = opal.build(two_matmuls[0], store=False, cache=cache)
    with pytest.raises(opal.InvalidArgumentError, match=r"input 'x' must be float32 8x24, got 3x3"):
        m(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError):  # InvalidArgumentError is also a ValueError
        m(np.zeros((8, 24), np.float32), np.zeros(1))
    with pytest.raises(opal.InvalidArgumentError, match="example_inputs"):
        opal.build(torch.nn.Linear(2, 2), store=False)
    with pytest.raises(opal.InvalidArgumentError, match="not int"):
        opal.build(42)
    with pytest.raises(opal.OpalError):
        opal.load(tmp_path)  # no libmodel.so
