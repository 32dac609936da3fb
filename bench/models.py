"""Part 1: model latency, batch 1, ours against the peers' architectures.

    .venv/bin/python -m bench.models --prepare            # export the peers to ONNX (slow, no timing)
    bench/quiet.sh .venv/bin/python -m bench.models

Our generator runs as shipped (models/colorizer.onnx in onnxruntime) and in
PyTorch eager (the shipped architecture, training.networks.define_generator
with the model's own model_args, random weights), at its working size (what
the engine runs: a photo's long side fits it) and at 256x256 like the peers.
The peers (bench/peers.py) run at 256x256, the size they were published for;
they are exported to ONNX with torch.onnx.export(..., dynamo=True), as
training/export.py exports ours, and timed the same two ways. onnxruntime
and torch both get one thread per core.
"""
from __future__ import annotations

import argparse
import functools
import json

import numpy as np
import onnx
import onnxruntime as ort
import torch

from bench import peers
from bench.common import OUT, ROOT, cores, load_results, percentiles, save_results, table, time_runs
from colorizer.engine import reads_hints
from training.export import takes_hints
from training.networks import define_generator

SIZE = 256
NAMES = ("ours", "ours_256", "pix2pix_unet256", "zhang2016")
SHIPPED = ROOT / "models" / "colorizer.onnx"


@functools.cache
def shipped_metadata() -> dict:
    return dict(ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])
                .get_modelmeta().custom_metadata_map)


def size_of(name: str) -> int:
    """Input side: ours at its working size, everything else at 256."""
    return int(shipped_metadata()["working_size"]) if name == "ours" else SIZE


def label(name: str) -> str:
    return {"ours": f"ours (EfficientNet-Lite0 U-Net) at its working size {size_of('ours')}",
            "ours_256": "ours at 256", "pix2pix_unet256": "pix2pix unet_256 (ngf 64) at 256",
            "zhang2016": "Zhang et al. 2016 at 256"}[name]


def network(name: str) -> torch.nn.Module:
    if name.startswith("ours"):
        return define_generator(**json.loads(shipped_metadata()["model_args"])).eval()
    return peers.build(name)


def onnx_path(name: str):
    return SHIPPED if name.startswith("ours") else OUT / "onnx" / f"{name}.onnx"


def network_inputs(net: torch.nn.Module, lightness: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """What the network is given: a hint-reading one also gets an empty hint map. Torch computes its
    branch anyway (adding zero), so the GMACs count it; the exported graph skips it (training.hint_graph)."""
    if not takes_hints(net):
        return (lightness,)
    return lightness, torch.zeros(lightness.shape[0], 3, *lightness.shape[2:])


def giga_macs(net: torch.nn.Module, size: int) -> float:
    """Multiply-accumulates of the convolutions for one size x size image, in billions."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        # weight[0]: in/groups*kh*kw per output value (conv), out/groups*kh*kw per input value (transposed)
        transposed = isinstance(module, torch.nn.ConvTranspose2d)
        total += (inputs[0] if transposed else output).numel() * module.weight[0].numel()

    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    hooks = [m.register_forward_hook(count) for m in convs]
    with torch.inference_mode():
        net(*network_inputs(net, torch.zeros(1, 1, size, size)))
    for hook in hooks:
        hook.remove()
    return round(total / 1e9, 2)


def prepare() -> dict:
    """Export the peers (random weights) and record parameters and MACs of all three."""
    info = {}
    for name in NAMES:
        net = network(name)
        path = onnx_path(name)
        if not name.startswith("ours") and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            program = torch.onnx.export(net, (torch.zeros(1, 1, SIZE, SIZE),), input_names=["L"], output_names=["ab"],
                                        opset_version=18, dynamo=True, verbose=False)
            onnx.save(program.model_proto, str(path))
        info[name] = {"params_m": round(sum(p.numel() for p in net.parameters()) / 1e6, 2),
                      "gmacs": giga_macs(net, size_of(name)), "size": size_of(name),
                      "onnx_mb": round(path.stat().st_size / 1e6, 1)}
    (OUT / "onnx").mkdir(parents=True, exist_ok=True)
    (OUT / "onnx" / "info.json").write_text(json.dumps(info, indent=2))
    return info


def load_info() -> dict:
    """What prepare() last recorded: parameters, MACs and ONNX size per network."""
    return json.loads((OUT / "onnx" / "info.json").read_text())


def measure(name: str, warmup: int, runs: int) -> dict:
    threads = cores()
    torch.set_num_threads(threads)
    side = size_of(name)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 1, side, side)).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(onnx_path(name)), options, providers=["CPUExecutionProvider"])
    feeds = {"L": x}
    if reads_hints(session):  # run without hints
        feeds["hints"] = np.zeros((1, 3, side, side), np.float32)
    result = {"onnxruntime": percentiles(time_runs(lambda: session.run(["ab"], feeds), warmup, runs))}
    net = network(name)
    inputs = network_inputs(net, torch.from_numpy(x))
    with torch.inference_mode():
        result["torch_eager"] = percentiles(time_runs(lambda: net(*inputs), warmup, runs))
    return result


def report(results: dict, info: dict) -> str:
    base = results["ours"]["onnxruntime"]["p50"]
    rows = []
    for name in NAMES:
        if name not in results:
            continue
        for engine in ("onnxruntime", "torch_eager"):
            stats = results[name][engine]
            rows.append([label(name), engine.replace("_", " "), info[name]["params_m"], info[name]["gmacs"],
                         f"{stats['p50']:.1f}", f"{stats['p95']:.1f}", f"{stats['p50'] / base:.1f}x"])
    return table(["network", "engine", "params (M)", "GMACs", "p50 ms", "p95 ms", "p50 / ours in ORT"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", action="store_true", help="export the peers and count MACs, then stop")
    parser.add_argument("--models", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    if args.prepare:
        print(json.dumps(prepare(), indent=2))
        return
    results = load_results("models")
    for name in args.models:
        results[name] = measure(name, args.warmup, args.runs)
        print(name, json.dumps(results[name]))
    save_results("models", results)
    print(report(results, prepare()))  # counted now: the shipped model's working size may have changed


if __name__ == "__main__":
    main()
