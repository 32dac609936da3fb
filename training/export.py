"""Export a trained generator to ONNX and prove the file computes the same thing.

    python -m training.export runs/main/last.pt models/colorizer.onnx

The graph follows the model I/O contract (README, models/MODEL_CARD.md):
input `L` float32 [N, 1, H, W] = L*/50 - 1, output `ab` float32 [N, 2, H, W]
in [-1, 1] (x110 = a*, b*). A generator with a hint branch
(training.train_hints) has a second input, `hints` float32 [N, 3, H, W] =
a*/110, b*/110, confidence (colorizer.hints.hint_map), and metadata
`hint_input` says so; its branch sits behind If nodes that skip it when
no pixel has a hint (training.hint_graph). Batch, height and width are dynamic (the U-Net is
fully convolutional; sides must divide 2**depth); the working size the model
was trained for is stored as metadata `working_size`. The export fails unless
onnxruntime reproduces PyTorch within --tolerance on random inputs (with and
without hints, for a model that reads them).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from torch import nn

from training.hint_graph import skip_joins_without_hints
from training.networks import define_generator, generator_args

WORKING_SIZE = 256
HINT_INPUT = "hints [N, 3, H, W] = a*/110, b*/110, confidence (colorizer.hints.hint_map)"


def load_generator(checkpoint: str | Path, ema: bool = False) -> tuple[nn.Module, int]:
    """Rebuild the generator from a checkpoint alone (its model_args), in eval mode,
    with the crop size it was trained at (its working size).

    ema: take the moving average of the generator's weights instead (a GAN run's checkpoint).
    """
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    net = define_generator(**ckpt["model_args"])
    if ema and "generator_ema" not in ckpt:
        raise ValueError(f"{checkpoint} holds no moving average of the generator (a GAN run with --ema has one)")
    net.load_state_dict(ckpt["generator_ema" if ema else "generator"])
    return net.eval(), int(ckpt.get("config", {}).get("size", WORKING_SIZE))


def export(net: nn.Module, path: str | Path, size: int = WORKING_SIZE, opset: int = 18,
           metadata: dict[str, str] | None = None) -> None:
    """Write `net` as ONNX with the I/O contract and dynamic N, H, W."""
    sides = {"min": net.size_multiple, "max": 16384}
    dims = {0: torch.export.Dim("N"), 2: torch.export.Dim("H", **sides), 3: torch.export.Dim("W", **sides)}
    inputs, names, dynamic = (torch.zeros(1, 1, size, size),), ["L"], {"lightness": dims}
    if takes_hints(net):
        inputs, names, dynamic = inputs + (torch.zeros(1, 3, size, size),), names + ["hints"], dynamic | {"hints": dims}
    program = torch.onnx.export(net, inputs, input_names=names, output_names=["ab"], opset_version=opset,
                                dynamo=True, dynamic_shapes=dynamic, verbose=False)
    model = program.model_proto  # one self-contained file: no external weight data
    props = {"working_size": str(size), "size_multiple": str(net.size_multiple),
             "model_args": json.dumps(generator_args(net)), **(metadata or {})}
    if takes_hints(net):
        model = skip_joins_without_hints(model)
        props["hint_input"] = HINT_INPUT
    onnx.helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def takes_hints(net: nn.Module) -> bool:
    """Whether `net` has a hint branch, hence a second ONNX input."""
    return getattr(net, "hint_joins", None) is not None


def parity(net: nn.Module, path: str | Path, size: int = WORKING_SIZE, batch: int = 2, seed: int = 0) -> float:
    """Max |PyTorch - onnxruntime| over random L inputs in [-1, 1]; for a model that reads hints,
    with random hint maps and with none (the graph's two ways through its If nodes)."""
    generator = torch.Generator().manual_seed(seed)
    lightness = torch.rand(batch, 1, size, size, generator=generator) * 2 - 1
    cases = [{"L": lightness}]
    if takes_hints(net):
        hints = torch.rand(batch, 3, size, size, generator=generator)
        cases = [{"L": lightness, "hints": torch.cat([hints[:, :2] - 0.5, hints[:, 2:]], dim=1)},
                 {"L": lightness, "hints": torch.zeros_like(hints)}]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for inputs in cases:
        with torch.no_grad():
            expected = net(*inputs.values()).numpy()
        got = session.run(["ab"], {k: v.numpy() for k, v in inputs.items()})[0]
        worst = max(worst, float(np.abs(expected - got).max()))
    return worst


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="training checkpoint (.pt) with generator weights and model_args")
    p.add_argument("output", help="ONNX file to write")
    p.add_argument("--size", type=int, default=None,
                   help="working size recorded in the model and used for the parity check (default: the training crop size)")
    p.add_argument("--ema", action="store_true", help="export the generator's moving average (GAN runs)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (>= 17)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |PyTorch - ONNX| difference")
    args = p.parse_args(argv)

    net, trained_size = load_generator(args.checkpoint, args.ema)
    size = args.size or trained_size
    export(net, args.output, size, args.opset)
    diff = parity(net, args.output, size)
    size_mb = Path(args.output).stat().st_size / 1e6
    print(f"wrote {args.output} ({size_mb:.1f} MB); max |PyTorch - ONNX| = {diff:.2e}")
    if diff > args.tolerance:
        Path(args.output).unlink()
        raise SystemExit(f"parity check failed: {diff:.2e} > {args.tolerance:.0e}; {args.output} removed")


if __name__ == "__main__":
    main()
