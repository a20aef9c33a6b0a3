"""What a new user runs first (README): torchvision's resnet18 built from PyTorch, called on a
torch tensor, compared with PyTorch's own output, and benchmarked."""

import torch
import torchvision

import opal
from conftest import rel_l2


def test_resnet18_from_pytorch_matches_and_benches(store_dsn, cache):
    torch.manual_seed(0)
    net = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224)
    m = opal.build(net, example_inputs=(x,), store=store_dsn, cache=cache)
    y = m(x)
    with torch.no_grad():
        want = net(x)
    assert isinstance(y, torch.Tensor) and y.shape == want.shape
    assert rel_l2(y.numpy(), want.numpy()) < 1e-4
    lat = m.bench(runs=20)
    print(lat)
    assert lat.runs == 20 and lat.p50_ms > 0
    convs = [n for n in m.manifest.nodes if n.op_type == "Conv" and n.workload_key]
    assert len({n.workload_key for n in convs}) >= 10
