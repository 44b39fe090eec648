"""The baseline of build_time.py: the converter calls of a sweep written out by hand, no edge_bench.

    python benchmarks/raw_convert.py --arch mobilenet_v2 --resolutions 96,112,128,144 --out DIR [--phases FILE]

Per variant: build the FP32 model once (seeded), make the calibration images, then for each runtime
export, prepare, calibrate, convert (PT2E INT8) and lower: XNNPACK .pte and LiteRT .tflite, the same
library calls and settings edge-bench makes (per-channel symmetric INT8, 8 random calibration images).
Each phase is timed; the totals go to --phases as JSON.
"""

from __future__ import annotations

import time

STARTED = time.time()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

TOTALS: dict[str, float] = defaultdict(float)


_gc_started: list[float] = []


def _gc_callback(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started.append(time.perf_counter())
    elif _gc_started:
        TOTALS["garbage collection (within phases)"] += time.perf_counter() - _gc_started.pop()


gc.callbacks.append(_gc_callback)  # Python's garbage collector, timed like edge-bench's (benchmarks/phases.py)


class phase:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        TOTALS[self.name] += time.perf_counter() - self.start


with phase("imports"):
    import litert_torch
    import torch
    import torchvision
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from executorch.exir import to_edge_transform_and_lower
    from litert_torch.quantize import pt2e_quantizer
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e import move_exported_model_to_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e


def build_model(arch: str, num_classes: int) -> torch.nn.Module:
    torch.manual_seed(0)
    if arch == "resnet50":
        return torchvision.models.resnet50(num_classes=num_classes).eval()
    if arch == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(num_classes=num_classes).eval()
    if arch == "tinycnn":  # the tests' tiny network, for --quick
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.tinymodels import TinyCNN

        return TinyCNN(num_classes).eval()
    raise SystemExit(f"unknown arch {arch}")


def quantize(model, example, quantizer, calibration, fold: bool):
    with phase("quantize (capture, prepare, convert)"):
        with torch.no_grad():
            prepared = prepare_pt2e(torch.export.export(model, (example,)).module(), quantizer)
    with phase("calibration passes"), torch.no_grad():
        for batch in calibration:
            prepared(batch)
    with phase("quantize (capture, prepare, convert)"):
        return move_exported_model_to_eval(convert_pt2e(prepared, fold_quantize=fold))


def to_pte(model, example, calibration) -> bytes:
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    quantized = quantize(model, example, quantizer, calibration, fold=True)
    with phase("export (lower, serialize)"):
        with torch.no_grad():
            program = torch.export.export(quantized, (example,))
        return to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch().buffer


def to_tflite(model, example, calibration, path: Path) -> None:
    quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True)
    )
    quantized = quantize(model, example, quantizer, calibration, fold=False)
    with phase("export (lower, serialize)"):
        litert_torch.convert(quantized, (example,), quant_config=QuantConfig(pt2e_quantizer=quantizer)).export(
            str(path)
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="mobilenet_v2")
    parser.add_argument("--resolutions", required=True)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--out", required=True)
    parser.add_argument("--phases")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for resolution in (int(r) for r in args.resolutions.split(",")):
        shape = (1, 3, resolution, resolution)
        with phase("model build"):
            model = build_model(args.arch, args.num_classes)
        with phase("calibration data"):
            generator = torch.Generator().manual_seed(0)
            calibration = [torch.randn(*shape, generator=generator) for _ in range(args.batches)]
            example = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
        data = to_pte(model, example, calibration)
        with phase("write files"):
            (out / f"{args.arch}-{resolution}.pte").write_bytes(data)
        to_tflite(model, example, calibration, out / f"{args.arch}-{resolution}.tflite")
    if args.phases:
        Path(args.phases).write_text(json.dumps({**TOTALS, "started_at": STARTED, "ended_at": time.time()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
