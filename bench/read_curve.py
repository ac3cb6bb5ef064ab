"""What a stream of N bytes costs on this GPU, timed as the layers are.

    python3 bench/read_curve.py [--sizes-mb 4,8,...] [--chunks 6x8.8,...] [--reps 25] [--out F]

The calibration of the T = 1 and T = 16 layer figures: the fraction of copy
bandwidth the layers reach is bytes ÷ time ÷ the 1 GiB copy's rate, but a
stream of a few tens of MB pays the DRAM's ramp and tail too. For each size
this times, cold L2 and CUDA-graph replay (bench.ColdTimer, h200.Replay):
  * copy: dst.copy_(src) of N bytes (N read + N written),
  * read: a Triton kernel that reads N bytes (16-byte loads, a grid-stride
    loop over 4 programs a multiprocessor) and writes one word a program,
  * chunks (`KxMB`): the read kernel over K chunks of MB each at random
    16 MiB-aligned places of a 2 GiB buffer, as a T = 1 call reads K experts.
Prints µs and GB/s (bytes read, and for copy read + write).
"""
import argparse
import json

import torch
import triton
import triton.language as tl

from bench import ColdTimer
from h200 import Replay

dev = "cuda"


@triton.jit
def _read(src, base, out, n, BLOCK: tl.constexpr):
    # Program (p, c) reads chunk c (n int32 words from src + base[c]).
    pid, c = tl.program_id(0), tl.program_id(1)
    step = tl.num_programs(0) * BLOCK
    start = tl.load(base + c)
    acc = tl.zeros([BLOCK], dtype=tl.int32)
    for i in range(pid * BLOCK, n, step):
        offs = i + tl.arange(0, BLOCK)
        acc += tl.load(src + start + offs, mask=offs < n, other=0)
    tl.store(out + c * tl.num_programs(0) + pid, tl.sum(acc))


def reader(buf, starts, words, programs):
    base = torch.tensor(starts, dtype=torch.int64, device=dev)
    out = torch.empty(programs * len(starts), dtype=torch.int32, device=dev)
    grid = (programs, len(starts))
    return lambda: _read[grid](buf, base, out, words, BLOCK=2048, num_warps=4)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--sizes-mb", default="4,8,16,32,64,128,256,512")
    a.add_argument("--chunks", default="6x1.6,6x3.2,8x2.3,6x8.8,8x6.3")
    a.add_argument("--reps", type=int, default=25)
    a.add_argument("--out")
    args = a.parse_args()
    timer = ColdTimer(args.reps)
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    rows = []

    def report(kind, nbytes, moved, ms):
        us = ms * 1e3
        rows.append(dict(kind=kind, mb=nbytes / 1e6, us=us, gbps=moved / ms / 1e6))
        print(f"{kind:>18} {nbytes / 1e6:8.1f} MB {us:8.1f} us {moved / ms / 1e6:7.0f} GB/s",
              flush=True)

    for mb in [float(s) for s in args.sizes_mb.split(",")]:
        n = int(mb * 1e6) // 16 * 16
        src = torch.randint(0, 7, (n // 4,), dtype=torch.int32, device=dev)
        dst = torch.empty_like(src)
        report("copy", n, 2 * n, timer(Replay(lambda: dst.copy_(src))))
        for per_sm in (1, 4):
            run = reader(src, [0], n // 4, per_sm * sms)
            report(f"read {per_sm}/SM", n, n, timer(Replay(run)))
        del src, dst
    big = torch.randint(0, 7, ((2 << 30) // 4,), dtype=torch.int32, device=dev)
    gen = torch.Generator().manual_seed(7)
    slots = (2 << 30) // (16 << 20)
    for spec in args.chunks.split(","):
        k, mb = spec.split("x")
        k, n = int(k), int(float(mb) * 1e6) // 16 * 16
        picks = torch.randperm(slots - 1, generator=gen)[:k].tolist()
        starts = [p * (16 << 20) // 4 for p in picks]
        for per_sm in (1, 4):
            programs = max(1, per_sm * sms // k)
            run = reader(big, starts, n // 4, programs)
            report(f"{k} chunks {per_sm}/SM", k * n, k * n, timer(Replay(run)))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(device=torch.cuda.get_device_name(), rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
