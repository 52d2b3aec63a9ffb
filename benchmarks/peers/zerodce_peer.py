# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""Zero-DCE (Guo et al., "Zero-Reference Deep Curve Estimation for Low-Light Image Enhancement", CVPR 2020) as the
peer on real dark photos: it needs no paired data, so it is what users compare a trained enhancer with.

Our own PyTorch transcription of the paper's DCE-Net, for the authors' released weights (snapshots/Epoch99.pth of
github.com/Li-Chongyi/Zero-DCE, academic non-commercial terms: the user passes the file; nothing here ships it):
seven 3x3 convolutions of 32 channels with ReLU, the last three fed by the concatenation of the mirrored earlier
layer (conv5 <- [x3, x4], conv6 <- [x2, x5], conv7 <- [x1, x6]), conv7 giving 24 channels through tanh: eight
RGB curve maps A_n applied in turn as the light-enhancement curve x <- x + A_n (x^2 - x) (the released weights'
sign convention, i.e. the paper's LE(x) = x + a x (1 - x) with a = -A_n).

    /usr/bin/python3 benchmarks/peers/zerodce_peer.py Epoch99.pth DARK_DIR OUT_DIR [--threads 2]

then score its outputs beside ours without ground truth:

    ./deepspg eval --low DARK_DIR --enhanced OUT_DIR --json zerodce.json
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class DceNet(torch.nn.Module):
    def __init__(self, width=32):
        super().__init__()
        conv = lambda i, o: torch.nn.Conv2d(i, o, 3, 1, 1, bias=True)
        self.e_conv1, self.e_conv2 = conv(3, width), conv(width, width)
        self.e_conv3, self.e_conv4 = conv(width, width), conv(width, width)
        self.e_conv5, self.e_conv6 = conv(2 * width, width), conv(2 * width, width)
        self.e_conv7 = conv(2 * width, 24)

    def forward(self, x):
        r = torch.relu
        x1 = r(self.e_conv1(x))
        x2 = r(self.e_conv2(x1))
        x3 = r(self.e_conv3(x2))
        x4 = r(self.e_conv4(x3))
        x5 = r(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = r(self.e_conv6(torch.cat([x2, x5], 1)))
        curves = torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))
        for a in torch.split(curves, 3, dim=1):
            x = x + a * (x * x - x)
        return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", help="Zero-DCE's Epoch99.pth")
    ap.add_argument("inputs", help="folder of dark photos")
    ap.add_argument("out", help="output folder (PNG, same file stems)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    net = DceNet()
    state = torch.load(a.weights, map_location="cpu")
    state = {k.replace("module.", ""): v for k, v in state.items()}
    net.load_state_dict(state)  # strict: every key and shape must match the transcription
    net.eval()
    os.makedirs(a.out, exist_ok=True)
    names = sorted(f for f in os.listdir(a.inputs) if f.lower().endswith(EXTS))
    if not names:
        sys.exit(f"no images in {a.inputs}")
    total = 0.0
    with torch.no_grad():
        for i, f in enumerate(names):
            img = np.asarray(Image.open(os.path.join(a.inputs, f)).convert("RGB"), dtype=np.float32) / 255.0
            x = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).contiguous()
            t0 = time.perf_counter()
            y = net(x)
            total += time.perf_counter() - t0
            out = (y[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
            Image.fromarray(out).save(os.path.join(a.out, os.path.splitext(f)[0] + ".png"))
            print(f"[{i + 1}/{len(names)}] {f} {img.shape[1]}x{img.shape[0]}", file=sys.stderr)
    print(f"Zero-DCE: {len(names)} images, {len(names) / total:.2f} images/s on {a.threads} threads")


if __name__ == "__main__":
    main()
