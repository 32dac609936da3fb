"""Rebuild a trainable checkpoint from an exported model, so the shipped file can be trained on.

    python -m training.from_onnx models/colorizer.onnx runs/shipped.pt

Run folders do not outlive a session, and the ONNX file is all that ships.
Its metadata `model_args` rebuilds the network; the exporter folded each
BatchNorm into the convolution before it (`X.weight` scaled, plus a bias
`X.weight_bias`), so each BatchNorm comes back as the identity with that
bias: running mean 0, running variance 1 - eps, scale 1. In eval mode the
checkpoint computes what the file does (checked here against onnxruntime);
in train mode a BatchNorm would use batch statistics instead, so a run that
fine-tunes it should keep BatchNorm in eval mode. The hint branch's weights
live inside the graph's `If` nodes and come back too.
"""
from __future__ import annotations

import argparse
import json

import onnx
import torch
from onnx import numpy_helper
from torch import nn

from training.export import parity
from training.networks import define_generator, generator_args


def initializers(graph: onnx.GraphProto) -> dict[str, torch.Tensor]:
    """Every named weight of the graph, those inside If branches included."""
    found = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                found |= initializers(attribute.g)
    return found


def unfold(model: onnx.ModelProto) -> tuple[nn.Module, int]:
    """The generator an exported file holds, in eval mode, and its working size."""
    props = {p.key: p.value for p in model.metadata_props}
    if "model_args" not in props:
        raise ValueError("the model has no model_args metadata: it was not written by training.export")
    net = define_generator(**json.loads(props["model_args"]))
    weights = initializers(model.graph)
    state, last_conv = {}, None
    for name, module in net.named_modules():  # each BatchNorm is registered right after its convolution
        if isinstance(module, nn.Conv2d):
            state[f"{name}.weight"] = weights[f"{name}.weight"]
            if module.bias is not None:
                state[f"{name}.bias"] = weights[f"{name}.bias"]
            last_conv = name
        elif isinstance(module, nn.BatchNorm2d):
            folded_bias = weights[f"{last_conv}.weight_bias"]
            state |= {f"{name}.weight": torch.ones_like(folded_bias), f"{name}.bias": folded_bias,
                      f"{name}.running_mean": torch.zeros_like(folded_bias),
                      f"{name}.running_var": torch.full_like(folded_bias, 1 - module.eps),
                      f"{name}.num_batches_tracked": torch.tensor(0)}
    net.load_state_dict(state, strict=True)
    return net.eval(), int(props["working_size"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("model", help="ONNX file written by training.export")
    p.add_argument("output", help="checkpoint (.pt) to write: generator weights, model_args and the working size")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |PyTorch - ONNX| difference")
    args = p.parse_args(argv)

    try:
        net, size = unfold(onnx.load(args.model))
    except ValueError as exc:
        raise SystemExit(f"{args.model}: {exc}") from exc
    diff = parity(net, args.model, size)
    if diff > args.tolerance:
        raise SystemExit(f"the rebuilt network differs from {args.model} by {diff:.2e} > {args.tolerance:.0e}")
    torch.save({"generator": net.state_dict(), "model_args": generator_args(net), "config": {"size": size},
                "from_onnx": str(args.model)}, args.output)
    print(f"wrote {args.output}; max |PyTorch - ONNX| = {diff:.2e}")


if __name__ == "__main__":
    main()
