# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""Colour a method puts into the regions of real dark photos that are grey in the input: per photo, over the pixels
whose input chroma C*ab is below 3 and whose output L* lies in [5, 95], the mean CIELAB (a*, b*) of the output (D65,
sRGB); printed as the mean over photos of |mean (a*, b*)| and of a*, b* themselves (a* < 0: green, b* > 0: yellow).
`deepspg eval --low`'s hue drift leaves such pixels out (no hue in the input), so it cannot see a cast there.
Outputs are matched to inputs by file stem; photos with fewer than 100 such pixels are skipped.

    /usr/bin/python3 benchmarks/peers/shadow_cast.py dark/ "s"=out-s/ "Zero-DCE"=zerodce-out/
"""
import os
import sys

import numpy as np
from PIL import Image


def lab(rgb8):
    a = rgb8 / 255.0
    x = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = x @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return 116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])


def read(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def main():
    inputs = sys.argv[1]
    stems = {os.path.splitext(n)[0]: n for n in sorted(os.listdir(inputs))}
    print("| method | photos | cast, mean |(a*, b*)| | mean a* | mean b* |")
    print("|---|---:|---:|---:|---:|")
    for arg in sys.argv[2:]:
        label, out = arg.rsplit("=", 1)
        outs = {os.path.splitext(n)[0]: n for n in os.listdir(out)}
        casts, a_s, b_s = [], [], []
        for stem, name in stems.items():
            if stem not in outs:
                continue
            _, ai, bi = lab(read(os.path.join(inputs, name)))
            lo, ao, bo = lab(read(os.path.join(out, outs[stem])))
            m = (np.hypot(ai, bi) < 3) & (lo > 5) & (lo < 95)
            if m.sum() < 100:
                continue
            a, b = ao[m].mean(), bo[m].mean()
            casts.append(np.hypot(a, b))
            a_s.append(a)
            b_s.append(b)
        print(f"| {label} | {len(casts)} | {np.mean(casts):.1f} | {np.mean(a_s):+.1f} | {np.mean(b_s):+.1f} |")


if __name__ == "__main__":
    main()
