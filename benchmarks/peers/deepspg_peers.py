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

--attention L0|L2 times the channel attention alone, forward + backward (issue 15 item 4's workload): the reference's
channel_attention on gated values (v * f, the IG-MSA case), then backward with a given output gradient, the same work
as JMH ChannelAttentionBenchmark's forward+backward (its "stock" column is this chain composed from libtorch ops in
Java). L0 = DeepSPG-S level 0 (batch 4, d = 20, one head, 256x256), L2 = level 2 (batch 4, d = 80, four heads of 20,
64x64). Row "attention-L0" / "attention-L2"; "macs": the six c x c x H*W products per batch and head (two forward,
four backward).
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
    ap.add_argument("--attention", choices=["L0", "L2"], help="time the channel attention's forward+backward instead")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.shared, "reference"))
    import deepspg_ref as ref

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.train_step:
        train_step(ref, a)
        return
    if a.attention:
        attention(ref, a)
        return
    net = ref.DeepSPG(C=20 if a.model == "s" else 40).eval()
    B, H, W = a.batch, a.height, a.width
    x = torch.rand(B, 3, H, W) * 0.3
    s0, s1, s2 = ref.hr_feats(B, H, W)
    with torch.inference_mode():
        times = time_ms(lambda: net(x, s0, s1, s2), a)
    if a.onnx:
        with torch.no_grad():
            torch.onnx.export(net, (x, s0, s1, s2), a.onnx, opset_version=14,
                              input_names=["input", "s0", "s1", "s2"], output_names=["output"])
    print(json.dumps({"peer": "pytorch-eager", "row": a.row, "script": script(a), "torch": torch.__version__,
                      "threads": a.threads, "model": a.model, "shape": [B, 3, H, W],
                      "ms_median": statistics.median(times), "ms_mean": statistics.mean(times), "ms_min": min(times),
                      "iters": a.iters, "macs": count_macs(net, x, s0, s1, s2), "onnx": a.onnx}))


def time_ms(fn, a):
    """ms of each of a.iters calls of fn, after a.warmup calls."""
    for _ in range(a.warmup):
        fn()
    times = []
    for _ in range(a.iters):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def script(a):
    if a.attention:
        what = f" --attention {a.attention}"
    elif a.train_step:
        what = " --train-step"
    else:
        what = f" --height {a.height} --width {a.width}"
    return f"deepspg_peers.py --threads {a.threads}{what} --iters {a.iters}"


# (batch, d, heads, side) of JMH ChannelAttentionBenchmark's shapes
ATTENTION_SHAPES = {"L0": (4, 20, 1, 256), "L2": (4, 80, 4, 64)}


def attention(ref, a):
    B, D, heads, S = ATTENTION_SHAPES[a.attention]
    x, y, v = (torch.randn(B, D, S, S).requires_grad_(True) for _ in range(3))
    f = torch.rand(B, D, S, S)
    tau = torch.ones(heads, 1, 1).requires_grad_(True)
    dout = torch.randn(B, D, S, S)
    leaves = (x, y, v, tau)

    def step():
        o = ref.channel_attention(x, y, v * f, tau, heads)
        o.backward(dout)
        r = x.grad[0, 0, 0, 0].item()
        for t in leaves:
            t.grad = None
        return r

    times = time_ms(step, a)
    c = D // heads
    print(json.dumps({"peer": "pytorch-eager", "row": "attention-" + a.attention, "script": script(a),
                      "torch": torch.__version__, "threads": a.threads, "shape": [B, D, S, S], "heads": heads,
                      "ms_median": statistics.median(times), "ms_mean": statistics.mean(times), "ms_min": min(times),
                      "iters": a.iters, "macs": 6 * B * heads * c * c * S * S}))


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

    times = time_ms(step, a)
    fwd = torch.nn.Module()
    fwd.net = net
    fwd.forward = lambda x: baseline_forward(net, x)
    print(json.dumps({"peer": "pytorch-eager-train-step", "row": "train-step", "script": script(a),
                      "torch": torch.__version__, "threads": a.threads, "model": a.model, "batch": [B, 3, S, S],
                      "ms_median": statistics.median(times), "ms_mean": statistics.mean(times), "ms_min": min(times),
                      "iters": a.iters, "steps_per_s": 1e3 / statistics.median(times), "macs": count_macs(fwd, low)}))


if __name__ == "__main__":
    main()
