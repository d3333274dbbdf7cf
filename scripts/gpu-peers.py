#!/usr/bin/env python3
"""The peers and the limits of an NVIDIA card, measured in the same session as pairdist's
report (issue 11): the pinned and pageable host link, the device's copy bandwidth, and the
distance matrices of torch.cdist (exact and matrix-product modes) and of CuPy's
|x|^2 + |y|^2 - 2 x.y trick, both on the device alone and as whole calls from a NumPy array
to a NumPy array.

Usage: python3 scripts/gpu-peers.py OUT.json [--n 16384] [--d 64,128] [--repeats 5]

Needs PyTorch with CUDA (CuPy optional). Each part that fails is recorded in the JSON and
the rest still runs; the exit status is non-zero if any part failed or no GPU was found.
Device times come from CUDA events, whole calls from the host clock; every figure is the
median of --repeats runs after one warm-up. The transfer target of issue 11 is a share of
the pinned figures measured here.
"""

import argparse
import json
import statistics
import sys
import time
import traceback

import numpy as np


def median_events(torch, fn, repeats):
    """Median device time of fn() in seconds, on CUDA events, after one warm-up."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def median_wall(fn, repeats, sync=None):
    """Median host time of fn() in seconds (sync() waits for the device), after one warm-up."""
    fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def link(torch, repeats, report):
    """Host <-> device copies of 1 GiB: pinned both ways, pageable both ways, and on the device."""
    n = 1 << 28  # float32 values: 1 GiB
    nbytes = 4 * n
    dev = torch.empty(n, dtype=torch.float32, device="cuda")
    dev2 = torch.empty_like(dev)
    pinned = torch.empty(n, dtype=torch.float32, pin_memory=True)
    pageable = torch.empty(n, dtype=torch.float32)
    pinned.fill_(1.0)
    pageable.fill_(1.0)
    sync = torch.cuda.synchronize
    rows = {
        "h2d_pinned": median_wall(lambda: dev.copy_(pinned, non_blocking=True), repeats, sync),
        "d2h_pinned": median_wall(lambda: pinned.copy_(dev, non_blocking=True), repeats, sync),
        "h2d_pageable": median_wall(lambda: dev.copy_(pageable), repeats, sync),
        "d2h_pageable": median_wall(lambda: pageable.copy_(dev), repeats, sync),
    }
    for name, seconds in rows.items():
        report["link"][name] = {"bytes": nbytes, "seconds": seconds, "GB/s": nbytes / seconds / 1e9}
    seconds = median_events(torch, lambda: dev2.copy_(dev), repeats)
    # Bytes read plus bytes written, as the 2.9 TB/s counts them.
    report["link"]["device_copy"] = {"bytes": 2 * nbytes, "seconds": seconds, "GB/s": 2 * nbytes / seconds / 1e9}
    host = np.ones(n, dtype=np.float32)
    dst = np.empty_like(host)
    seconds = median_wall(lambda: np.copyto(dst, host), repeats)
    report["link"]["host_memcpy"] = {"bytes": nbytes, "seconds": seconds, "GB/s": nbytes / seconds / 1e9}


def torch_cdist(torch, n, d, repeats, report):
    """torch.cdist in its two modes: on the device (events) and host to host (wall clock)."""
    rng = np.random.default_rng(1)
    xa = rng.random((n, d), dtype=np.float32)
    xb = rng.random((n, d), dtype=np.float32)
    x = torch.from_numpy(xa).cuda()
    y = torch.from_numpy(xb).cuda()
    for mode in ("donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"):
        seconds = median_events(torch, lambda: torch.cdist(x, y, compute_mode=mode), repeats)

        def whole():
            return torch.cdist(torch.from_numpy(xa).cuda(), torch.from_numpy(xb).cuda(), compute_mode=mode).cpu().numpy()

        wall = median_wall(whole, repeats)
        report["cases"].append(case("torch.cdist " + mode, "euclidean", n, d, seconds, wall))
        torch.cuda.empty_cache()


def cupy_gemm(n, d, repeats, report):
    """CuPy's matrix-product trick for squared Euclidean distances (inexact far from 0)."""
    import cupy as cp

    rng = np.random.default_rng(1)
    xa = rng.random((n, d), dtype=np.float32)
    xb = rng.random((n, d), dtype=np.float32)

    def distances(x, y):
        x2 = (x * x).sum(axis=1)
        y2 = (y * y).sum(axis=1)
        out = x @ y.T
        out *= -2.0
        out += x2[:, None]
        out += y2[None, :]
        return out

    x = cp.asarray(xa)
    y = cp.asarray(xb)
    distances(x, y)
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(repeats):
        start = cp.cuda.Event()
        end = cp.cuda.Event()
        start.record()
        distances(x, y)
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
    seconds = statistics.median(times)
    wall = median_wall(lambda: cp.asnumpy(distances(cp.asarray(xa), cp.asarray(xb))), repeats)
    report["cases"].append(case("cupy GEMM trick", "sqeuclidean", n, d, seconds, wall))
    cp.get_default_memory_pool().free_all_blocks()


def case(peer, metric, n, d, device_seconds, whole_seconds):
    return {
        "peer": peer,
        "metric": metric,
        "n": n,
        "m": n,
        "d": d,
        "device_seconds": device_seconds,
        "device_gpds": n * n * d / device_seconds / 1e9,
        "whole_call_seconds": whole_seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=16384)
    parser.add_argument("--d", default="64,128")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    dims = [int(v) for v in args.d.split(",")]
    report = {"link": {}, "cases": [], "errors": [], "repeats": args.repeats, "statistic": "median"}

    def part(name, fn, *fn_args):
        try:
            fn(*fn_args)
        except Exception as e:  # noqa: BLE001 - every part is optional; the report says why
            traceback.print_exc()
            report["errors"].append(f"{name}: {type(e).__name__}: {e}")

    try:
        import torch
    except ImportError as e:
        report["errors"].append(f"torch: {e}")
        torch = None
    if torch is not None and torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = False  # plain FP32, as pairdist computes
        report["device"] = torch.cuda.get_device_name(0)
        report["torch"] = torch.__version__
        part("link", link, torch, args.repeats, report)
        torch.cuda.empty_cache()  # the link's buffers are freed with its frame
        for d in dims:
            part(f"torch.cdist d={d}", torch_cdist, torch, args.n, d, args.repeats, report)
    elif torch is not None:
        report["errors"].append("torch sees no CUDA device")
    for d in dims:
        part(f"cupy d={d}", cupy_gemm, args.n, d, args.repeats, report)

    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"device: {report.get('device', 'none')}")
    for name, row in report["link"].items():
        print(f"{name:14} {row['GB/s']:10.1f} GB/s  ({row['seconds'] * 1e3:.2f} ms for {row['bytes'] >> 20} MiB)")
    for c in report["cases"]:
        print(
            f"{c['peer']:42} {c['metric']:12} {c['n']}^2 x {c['d']:<5} "
            f"device {c['device_gpds']:9.1f} Gpd/s ({c['device_seconds'] * 1e3:.2f} ms), "
            f"whole call {c['whole_call_seconds']:.3f} s"
        )
    for e in report["errors"]:
        print(f"error: {e}", file=sys.stderr)
    return 1 if report["errors"] or "device" not in report else 0


if __name__ == "__main__":
    sys.exit(main())
