# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""Markdown table of `deepspg eval --low DIR ... --per-image --json F` reports (no ground truth) of several methods on
the same real photos, split by how dark the input is: the photos whose mean sRGB luma is at most 0.2 (51/255, the
brightest LOL-like inputs of the training data's exposure range, docs/data.md) and the brighter rest. A report
written before `saturation_kept` or `shadow_cast` existed shows nan in that column.

    /usr/bin/python3 benchmarks/peers/real_photos_table.py "DeepSPG s"=base.json "Zero-DCE"=zerodce.json
"""
import json
import statistics
import sys

DARK = 51.0


def rows(label, f):
    per = json.load(open(f))["per_image"]
    out = []
    for name, keep in (("all", lambda r: True), (f"dark (luma ≤ {DARK:.0f})", lambda r: r["input_mean_luma"] <= DARK),
                       (f"brighter (luma > {DARK:.0f})", lambda r: r["input_mean_luma"] > DARK)):
        rs = [r for r in per if keep(r)]
        if not rs:
            continue

        def m(k, scale=1.0):
            xs = [r[k] * scale for r in rs if r.get(k) is not None]
            return statistics.mean(xs) if xs else float("nan")

        clipped_any = sum(1 for r in rs if r["newly_clipped"] > 0.01)
        out.append(f"| {label} | {name} | {len(rs)} | {m('newly_clipped', 100):.2f} | {clipped_any} | "
                   f"{m('hue_drift_deg'):.1f} | {m('saturation_kept'):.2f} | {m('shadow_cast'):.1f} | {m('noise_sigma'):.2f} ({m('input_noise_sigma'):.2f}) | "
                   f"{m('mean_luma'):.0f} ({m('input_mean_luma'):.0f}) |")
    return out


def main():
    print("| method | photos | n | newly clipped % | photos > 1 % clipped | hue drift ° | saturation kept | "
          "shadow cast | noise σ (input) | luma (input) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for arg in sys.argv[1:]:
        label, f = arg.rsplit("=", 1)
        for r in rows(label, f):
            print(r)


if __name__ == "__main__":
    main()
