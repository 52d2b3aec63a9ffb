#!/usr/bin/python3
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""The one table of benchmarks/peers/run-peers.sh: DeepSPG-Java against ONNX Runtime and PyTorch eager.

Reads what run-peers.sh collected in one folder and prints a Markdown table, one row per workload:
  eager-*.json   one JSON line each from deepspg_peers.py / prior_peers.py (PyTorch eager; "macs" of one forward)
  jmh-*.json     JMH's JSON results (EnhancementPeers: engine x workload; TrainStep)
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
    """{(benchmark short name, workload, engine, (height, width) or None): (ms, error)}"""
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
            size = (int(p["height"]), int(p["width"])) if "height" in p else None
            out[(name, p.get("workload", "network"), p.get("engine", "deepspg"), size)] = (m["score"], m["scoreError"])
    return out


def fmt_ms(v):
    if v is None:
        return "—"
    if isinstance(v, tuple):
        return f"{v[0]:,.0f} ± {v[1]:,.0f}" if v[1] == v[1] else f"{v[0]:,.0f}"
    return f"{v:,.0f}"


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

if __name__ == "__main__":
    main()
