#!/usr/bin/python3
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""Peers for the side-by-side benchmark of the enhancement network forward (issue: inference evidence).

Builds the spec's PyTorch reference (../shared/reference/deepspg_ref.py, random weights: timing only), then
  1. times PyTorch eager (torch.inference_mode, fp32) on one input, with a given intra-op thread count, and
  2. exports the same module to ONNX (opset 14) for ONNX Runtime's Java API (benchmarks/.../PeerBenchmark.java).
Runs with Debian's python3-torch (1.13): `apt-get install python3-torch`, then
  /usr/bin/python3 benchmarks/peers/deepspg_peers.py --threads 2 --height 416 --width 608 --onnx /tmp/deepspg_s.onnx
Prints one JSON line with the eager timings (ms per forward: median, mean, min over --iters runs after warm-up) and
the multiply-accumulates of one forward (peers_common.py), row "network"; benchmarks/peers/peers_table.py reads it.

--train-step times one training step of the Baseline configuration instead (configs/baseline_cpu.properties: no
SEMs, batch 4 of 128x128 crops, L = MSE + 0.5 * L_edge of spec §4, Adam lr 3e-4, grad-norm clip 0.01): zero_grad,
forward, losses, backward, clip, Adam step, the same work as org.deepspg.train.Trainer#trainStep
(JMH TrainStepBenchmark). Row "train-step"; its "macs" are those of one forward of the batch.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

from peers_common import add_common_args, count_macs

here = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    add_common_args(ap, here)
    ap.add_argument("--model", choices=["s", "l"], default="s")
    ap.add_argument("--train-step", action="store_true", help="time a Baseline training step instead (batch 4 @ 128)")
    ap.add_argument("--row", default="network", help="the table row this result belongs to (network-large: 1080p)")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.shared, "reference"))
    import deepspg_ref as ref

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.train_step:
        train_step(ref, a)
        return
    net = ref.DeepSPG(C=20 if a.model == "s" else 40).eval()
    B, H, W = a.batch, a.height, a.width
    x = torch.rand(B, 3, H, W) * 0.3
    s0, s1, s2 = ref.hr_feats(B, H, W)
    with torch.inference_mode():
        for _ in range(a.warmup):
            net(x, s0, s1, s2)
        times = []
        for _ in range(a.iters):
            t = time.perf_counter()
            net(x, s0, s1, s2)
            times.append((time.perf_counter() - t) * 1e3)
    if a.onnx:
        with torch.no_grad():
            torch.onnx.export(net, (x, s0, s1, s2), a.onnx, opset_version=14,
                              input_names=["input", "s0", "s1", "s2"], output_names=["output"])
    print(json.dumps({"peer": "pytorch-eager", "row": a.row, "script": script(a), "torch": torch.__version__,
                      "threads": a.threads, "model": a.model, "shape": [B, 3, H, W],
                      "ms_median": statistics.median(times), "ms_mean": statistics.mean(times), "ms_min": min(times),
                      "iters": a.iters, "macs": count_macs(net, x, s0, s1, s2), "onnx": a.onnx}))


def script(a):
    return (f"deepspg_peers.py --threads {a.threads}" + (" --train-step" if a.train_step else
            f" --height {a.height} --width {a.width}") + f" --iters {a.iters}")


def train_step(ref, a):
    # the Baseline forward (the reference's DeepSPG without its SEM calls) of the user-path golden script
    sys.path.insert(0, os.path.join(here, "..", "..", "scripts"))
    from make_user_path_golden import baseline_forward

    net = ref.DeepSPG(C=20 if a.model == "s" else 40)
    for n, p in net.named_parameters():   # the Baseline has no SEMs: they take no part
        if "_sem" in n: p.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=3e-4, betas=(0.9, 0.999), eps=1e-8)
    B, S = 4, 128
    low, high = torch.rand(B, 3, S, S) * 0.2, torch.rand(B, 3, S, S)

    def step():
        opt.zero_grad(set_to_none=True)
        out = baseline_forward(net, low)
        e = out - high
        edge = (e[..., :, 1:] - e[..., :, :-1]).pow(2).mean() + (e[..., 1:, :] - e[..., :-1, :]).pow(2).mean()
        loss = (out - high).pow(2).mean() + 0.5 * edge
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.01)
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iters):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    fwd = torch.nn.Module()
    fwd.net = net
    fwd.forward = lambda x: baseline_forward(net, x)
    print(json.dumps({"peer": "pytorch-eager-train-step", "row": "train-step", "script": script(a),
                      "torch": torch.__version__, "threads": a.threads, "model": a.model, "batch": [B, 3, S, S],
                      "ms_median": statistics.median(times), "ms_mean": statistics.mean(times), "ms_min": min(times),
                      "iters": a.iters, "steps_per_s": 1e3 / statistics.median(times), "macs": count_macs(fwd, low)}))


if __name__ == "__main__":
    main()
