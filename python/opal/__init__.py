"""opal from Python: build fast CPU binaries of ONNX and PyTorch models with the best kernels a
tuning-record store knows, run them on NumPy arrays and torch tensors, and reach the store, the
cost model and the training planner.

    import opal, torch, torchvision
    net = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224)
    m = opal.build(net, example_inputs=(x,))
    y = m(x)                      # a torch tensor
    print(m.bench(runs=20))       # latency percentiles in ms

Errors are :class:`OpalError` subclasses carrying the CLI's one-line messages.
"""

from ._opal import (  # noqa: F401  (exception classes, created by the extension)
    CancelledError,
    FailedError,
    InternalError,
    InvalidArgumentError,
    InvalidModelError,
    IoError,
    NotFoundError,
    OpalError,
    OpalTimeoutError,
    UnavailableError,
    UnsupportedError,
)
from .api import Delivery, DeliveredTask, Task, TaskList, build, deliver, target, tasks
from .compiled import CompiledModel, KernelTime, Latency, Manifest, ManifestNode, TensorInfo, load
from .planner import Plan, PlanResult, SimEvent, Stage, plan
from .progress import ProgressEvent, on_progress, printer, set_progress_listener
from .store import CostModel, Prediction, Record, Store, StoreStats

__version__ = "0.1.0"

__all__ = [
    "OpalError", "InvalidArgumentError", "NotFoundError", "IoError", "InvalidModelError", "UnsupportedError",
    "UnavailableError", "FailedError", "OpalTimeoutError", "CancelledError", "InternalError",
    "build", "deliver", "tasks", "target", "load", "plan",
    "CompiledModel", "Manifest", "ManifestNode", "TensorInfo", "Latency", "KernelTime",
    "Task", "TaskList", "Delivery", "DeliveredTask",
    "Store", "Record", "StoreStats", "CostModel", "Prediction",
    "Plan", "PlanResult", "Stage", "SimEvent",
    "ProgressEvent", "on_progress", "set_progress_listener", "printer",
]
