"""Turning what a user hands opal (a path, an ``onnx.ModelProto``, a ``torch.nn.Module``) into an
ONNX file the C++ library reads."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from . import _opal

#: The ONNX opset PyTorch modules are exported with.
EXPORT_OPSET = 13


def _invalid(message: str) -> Exception:
    return _opal.InvalidArgumentError(message)


def _is_torch_module(obj: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the torch path only
        return False
    return isinstance(obj, torch.nn.Module)


def _is_model_proto(obj: Any) -> bool:
    return type(obj).__name__ == "ModelProto" and hasattr(obj, "SerializeToString")


def export_torch(module: Any, example_inputs: Sequence[Any], path: str) -> list[str]:
    """Exports ``module`` called on ``example_inputs`` to ONNX (opset 13, inference mode: dropout
    off, batch norm with its running statistics) and returns the input names
    (``input_0``, ``input_1``, ...)."""
    import torch

    if example_inputs is None:
        raise _invalid("a torch.nn.Module needs example_inputs=(tensor, ...) to be exported to ONNX")
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    if not example_inputs or not all(isinstance(t, torch.Tensor) for t in example_inputs):
        raise _invalid("example_inputs must be a tuple of torch tensors, one per input of forward()")
    names = [f"input_{i}" for i in range(len(example_inputs))]
    with torch.no_grad():
        outputs = module(*example_inputs)
    n_out = len(outputs) if isinstance(outputs, (tuple, list)) else 1
    try:
        with torch.no_grad():
            torch.onnx.export(
                module,
                example_inputs,
                path,
                opset_version=EXPORT_OPSET,
                input_names=names,
                output_names=[f"output_{i}" for i in range(n_out)],
                do_constant_folding=True,
                training=torch.onnx.TrainingMode.EVAL,
            )
    except Exception as e:  # torch raises many types; the user needs one line and the cause
        raise _opal.UnsupportedError(
            f"torch.onnx.export of {type(module).__name__} failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from e
    return names


@contextlib.contextmanager
def onnx_file(model: Any, example_inputs: Sequence[Any] | None = None) -> Iterator[str]:
    """Yields the path of an ONNX file holding ``model``: the path itself for a file, a temporary
    file (removed afterwards) for an ``onnx.ModelProto`` or an exported ``torch.nn.Module``."""
    if isinstance(model, (str, os.PathLike)):
        if example_inputs is not None:
            raise _invalid("example_inputs is for torch.nn.Module models; an ONNX file has its own inputs")
        yield os.fspath(model)
        return
    if not (_is_model_proto(model) or _is_torch_module(model)):
        raise _invalid(
            f"a model is an ONNX file path, an onnx.ModelProto or a torch.nn.Module, not {type(model).__name__}"
        )
    with tempfile.TemporaryDirectory(prefix="opal-onnx-") as tmp:
        name = type(model).__name__.lower() if _is_torch_module(model) else "model"
        path = os.path.join(tmp, f"{name}.onnx")
        if _is_model_proto(model):
            if example_inputs is not None:
                raise _invalid("example_inputs is for torch.nn.Module models; an ONNX model has its own inputs")
            with open(path, "wb") as f:
                f.write(model.SerializeToString())
        else:
            export_torch(model, example_inputs, path)
        yield path
