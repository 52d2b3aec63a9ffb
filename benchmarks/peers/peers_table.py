#!/usr/bin/python3
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""The one report of benchmarks/peers/run-peers.sh: DeepSPG-Java against ONNX Runtime and PyTorch eager.

Reads what run-peers.sh collected in one folder and prints Markdown: the table, one row per workload; the fused
channel attention's table (forward + backward against the same chain of stock libtorch ops and PyTorch eager); and
issue 15's targets, each met or missed by how much (on the mean of this run: the error bars are in the tables).
  eager-*.json   one JSON line each from deepspg_peers.py / prior_peers.py (PyTorch eager; "macs" of one forward,
                 or of one attention forward + backward)
  jmh-*.json     JMH's JSON results (EnhancementPeers: engine x workload; TrainStep; ChannelAttention: fused or stock
                 forward+backward x shape, ms per call)
  fma-peak.txt   the measured FMA peak of this machine at the thread count (fma_peak.c, GFLOP/s)
  meta.json      machine, date, threads, size and the command line
Columns: ms per forward (or per training step) of each engine, our time as a fraction of ORT's and of eager's
(< 1 = we are faster), the work in GFLOP (2 x multiply-accumulates of the convolutions and linear layers, counted
by the PyTorch peer; a training step counts 3 forwards) and our fraction of the measured FMA peak.
A configuration that the correctness self-check refused on this machine has no JMH result, so it has no row.
Usage: peers_table.py DIR
"""
import glob
import json
import os
import sys


def load_eager(d):
    rows = {}
    for f in sorted(glob.glob(os.path.join(d, "eager-*.json"))):
        for line in open(f):
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows[r.get("row", os.path.basename(f)[6:-5])] = r
    return rows


def load_jmh(d):
    """{(benchmark short name, workload, engine, (height, width) or None): (ms, error)}; ChannelAttention's results
    as {("ChannelAttention", "fused" or "stock", shape): (ms, error)}"""
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "jmh-*.json"))):
        try:
            results = json.load(open(f))
        except ValueError:
            continue
        for r in results:
            name = r["benchmark"].rsplit(".", 2)[-2].removesuffix("Benchmark")
            p = r.get("params", {})
            m = r["primaryMetric"]
            if m.get("scoreUnit") != "ms/op":
                continue
            if name == "ChannelAttention":
                method = r["benchmark"].rsplit(".", 1)[-1]  # fusedForwardBackward, stockForwardBackward
                if method.endswith("ForwardBackward"):
                    out[(name, method.removesuffix("ForwardBackward"), p.get("shape"))] = (m["score"], m["scoreError"])
                continue
            size = (int(p["height"]), int(p["width"])) if "height" in p else None
            out[(name, p.get("workload", "network"), p.get("engine", "deepspg"), size)] = (m["score"], m["scoreError"])
    return out


def fmt_ms(v, digits=0):
    """ms (with its error where JMH gave one) to `digits` decimals; — when absent."""
    if v is None:
        return "—"
    if isinstance(v, tuple):
        return f"{v[0]:,.{digits}f} ± {v[1]:,.{digits}f}" if v[1] == v[1] else f"{v[0]:,.{digits}f}"
    return f"{v:,.{digits}f}"


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, "meta.json")))
    eager, jmh = load_eager(d), load_jmh(d)
    peak = None
    pf = os.path.join(d, "fma-peak.txt")
    if os.path.exists(pf):
        for line in open(pf):
            if line.startswith("peak_gflops"):
                peak = float(line.split()[1])
    h, w = meta["height"], meta["width"]
    large = tuple(meta["large"]) if meta.get("large") else None
    specs = [
        ("DeepSPG-S network forward (SEMs, no prior), 1x3x%dx%d" % (h, w), "EnhancementPeers", "network", "network",
         (h, w)),
        ("HRNet-W48 prior `HrnetPrior.run`, 1x3x%dx%d" % (h, w), "EnhancementPeers", "prior-hrnet-w48",
         "prior-hrnet-w48", (h, w)),
        ("ESPNetv2 s=0.5 prior `EspnetPrior.run`, 1x3x%dx%d" % (h, w), "EnhancementPeers", "prior-espnetv2",
         "prior-espnetv2-s0.5", (h, w)),
        ("HRNet-W48 prior's SEM features alone `HrnetPrior.features` (what enhancement runs), 1x3x%dx%d" % (h, w),
         "EnhancementPeers", "prior-hrnet-w48-features", "prior-hrnet-w48-features", (h, w)),
        ("ESPNetv2 s=0.5 SEM features alone `EspnetPrior.features` (what enhancement runs), 1x3x%dx%d" % (h, w),
         "EnhancementPeers", "prior-espnetv2-features", "prior-espnetv2-s0.5-features", (h, w)),
        ("Baseline training step, batch 4 @ 128x128", "TrainStep", "network", "train-step", None),
    ]
    if large:
        specs.insert(1, ("DeepSPG-S network forward (SEMs, no prior), 1x3x%dx%d" % large, "EnhancementPeers",
                         "network", "network-large", large))
    print(f"Machine: {meta['machine']}; {meta['threads']} threads; {meta['date']}; command: `{meta['command']}`"
          + (f"; measured FMA peak {peak:.0f} GFLOP/s" if peak else ""))
    print()
    print("| workload | DeepSPG-Java ms | ONNX Runtime ms | PyTorch eager ms | ours / ORT | ours / eager | GFLOP |"
          " ours, % of FMA peak | how |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, bench, workload, eager_row, size in specs:
        ours = jmh.get((bench, workload, "deepspg", size))
        if ours is None:
            continue  # not run, or refused by the self-check: not a row
        ort = jmh.get((bench, workload, "onnxruntime", size))
        e = eager.get(eager_row)
        e_ms = e["ms_median"] if e else None
        macs = e.get("macs") if e else None
        gflop = 2 * macs / 1e9 * (3 if bench == "TrainStep" else 1) if macs else None
        pct = f"{100 * gflop / (ours[0] / 1e3) / peak:.0f} %" if gflop and peak else "—"
        how = f"JMH `{bench}" + (f" -p workload={workload}" if bench == "EnhancementPeers" else "") \
            + (f" -p height={size[0]} -p width={size[1]}" if size and size != (h, w) else "") + "`"
        if e:
            how += f"; eager: `{e.get('script', 'peers script')}`"
        cells = [label, fmt_ms(ours), fmt_ms(ort), fmt_ms(e_ms),
                 f"{ours[0] / ort[0]:.2f}×" if ort else "—",
                 f"{ours[0] / e_ms:.2f}×" if e_ms else "—",
                 f"{gflop:.1f}" if gflop else "—", pct, how]
        print("| " + " | ".join(cells) + " |")
    attention_table(jmh, eager, peak)
    targets(jmh, eager, meta, large)


ATTENTION_SHAPES = {"L0": "batch 4, d = 20, one head, 256x256 (level 0)",
                    "L2": "batch 4, d = 80, four heads of 20, 64x64 (level 2)"}


def attention_table(jmh, eager, peak):
    rows = [s for s in ATTENTION_SHAPES if ("ChannelAttention", "fused", s) in jmh]
    if not rows:
        return
    print()
    print("Fused channel attention (SEM / IG-MSA, gated values), forward + backward, against the same math as a chain")
    print("of stock libtorch ops in the same JVM and as PyTorch eager on the reference:")
    print()
    print("| shape | fused ms | stock libtorch chain ms | PyTorch eager ms | fused / stock | fused / eager | GFLOP |"
          " fused, % of FMA peak | how |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for shape in rows:
        ours = jmh[("ChannelAttention", "fused", shape)]
        stock = jmh.get(("ChannelAttention", "stock", shape))
        e = eager.get("attention-" + shape)
        e_ms = e["ms_median"] if e else None
        gflop = 2 * e["macs"] / 1e9 if e else None
        pct = f"{100 * gflop / (ours[0] / 1e3) / peak:.0f} %" if gflop and peak else "—"
        how = f"JMH `ChannelAttention.*ForwardBackward -p shape={shape} -bm avgt`" \
            + (f"; eager: `{e['script']}`" if e else "")
        cells = [f"{shape}: {ATTENTION_SHAPES[shape]}", fmt_ms(ours, 1), fmt_ms(stock, 1), fmt_ms(e_ms, 1),
                 f"{ours[0] / stock[0]:.2f}×" if stock else "—", f"{ours[0] / e_ms:.3f}×" if e_ms else "—",
                 f"{gflop:.2f}" if gflop else "—", pct, how]
        print("| " + " | ".join(cells) + " |")


def targets(jmh, eager, meta, large):
    """Issue 15's targets on this run's means: each line says met, or missed and by how much."""
    h, w = meta["height"], meta["width"]
    lines = []

    def verdict(name, value, goal, lower_is_better, unit, how):
        ok = value <= goal if lower_is_better else value >= goal
        if ok:
            say = "met"
        elif lower_is_better:
            say = f"**missed** by {100 * (value / goal - 1):.0f} %"
        else:
            say = f"**missed**: {goal / value:.2f}× short"
        digits = {"×": 2, " ms": 0, " %": 1}[unit]
        lines.append(f"| {name} | {goal:g}{unit} | {value:.{digits}f}{unit} | {say} | {how} |")

    for size in [(h, w)] + ([large] if large else []):
        ours = jmh.get(("EnhancementPeers", "network", "deepspg", size))
        ort = jmh.get(("EnhancementPeers", "network", "onnxruntime", size))
        if ours and ort:
            verdict("2: network forward, %dx%d, ours / ORT" % size, ours[0] / ort[0], 0.35, True, "×",
                    "network row above")
    hf = jmh.get(("EnhancementPeers", "prior-hrnet-w48-features", "deepspg", (h, w)))
    if hf:
        verdict("3: HRNet-W48 `features`, %dx%d" % (h, w), hf[0], 500, True, " ms", "its row above")
    ef = jmh.get(("EnhancementPeers", "prior-espnetv2-features", "deepspg", (h, w)))
    net = jmh.get(("EnhancementPeers", "network", "deepspg", (h, w)))
    if ef and net:
        verdict("3: light prior (ESPNetv2 `features`) / network forward", 100 * ef[0] / net[0], 15, True, " %",
                "their rows above")
    for shape in ATTENTION_SHAPES:
        fused = jmh.get(("ChannelAttention", "fused", shape))
        stock = jmh.get(("ChannelAttention", "stock", shape))
        if fused and stock:
            verdict(f"4: fused attention fwd+bwd {shape}, stock / fused", stock[0] / fused[0], 10, False, "×",
                    "attention table")
    step = jmh.get(("TrainStep", "network", "deepspg", None))
    e = eager.get("train-step")
    if step and e:
        verdict("6: training steps/s, ours / eager", e["ms_median"] / step[0], 3, False, "×", "training row above")
    if not lines:
        return
    print()
    print("Issue 15's targets on this run's means (item: workload; GPU targets are not part of this CPU run):")
    print()
    print("| target | goal | this run | verdict | from |")
    print("|---|---:|---:|---|---|")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
