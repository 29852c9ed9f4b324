"""Forward-pass time of every registered architecture (paper presets) on the CPU.

    python benchmarks/model_speed.py [--size 512] [--repeats 3] [--threads 2] [--models xbnet ...]

Prints one row per model: parameters, input shape and the median time of ``--repeats`` forward
passes (after one warm-up) in inference mode.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from microseg import models


def time_forward(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Median wall time (seconds) of ``repeats`` forward passes after one warm-up."""
    times = []
    with torch.inference_mode():
        model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="square input side in pixels")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--models", nargs="*", default=models.available())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{'model':<18}{'parameters':>12}  {'input':<18}{'forward (s)':>12}")
    for name in args.models:
        model = models.build(name).eval()
        x = torch.randn(1, model.in_channels, args.size, args.size)
        seconds = time_forward(model, x, args.repeats)
        shape = "x".join(map(str, x.shape))
        print(f"{name:<18}{models.count_parameters(model):>12,}  {shape:<18}{seconds:>12.3f}")


if __name__ == "__main__":
    main()
