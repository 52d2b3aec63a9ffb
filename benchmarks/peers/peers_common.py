# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""What the PyTorch peers of run-peers.sh share: the common command-line options and the multiply-accumulates of one
forward, counted with forward hooks (the work column of the table).

Convolutions and linear layers only: Conv2d weight.numel() x H_out x W_out (groups are in the weight's shape),
ConvTranspose2d weight.numel() x H_in x W_in, Linear weight.numel() x rows. Matmuls outside modules (attention),
norms and element-wise ops are not counted: the figure is a floor of the work, so "% of FMA peak" errs low.
"""
import os

import torch


def add_common_args(ap, here):
    """--shared, --threads, --height, --width, --batch, --warmup, --iters, --onnx (defaults: 2 threads, 416x608)."""
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "..", "shared"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--height", type=int, default=416)
    ap.add_argument("--width", type=int, default=608)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--onnx", default=None, help="write the ONNX export here")


def count_macs(module, *inputs):
    total = [0]

    def hook(m, args, out):
        if isinstance(m, torch.nn.ConvTranspose2d):
            total[0] += m.weight.numel() * args[0].shape[0] * args[0].shape[-2] * args[0].shape[-1]
        elif isinstance(m, torch.nn.Conv2d):
            total[0] += m.weight.numel() * out.shape[0] * out.shape[-2] * out.shape[-1]
        elif isinstance(m, torch.nn.Linear):
            total[0] += m.weight.numel() * (out.numel() // out.shape[-1])

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]
    try:
        with torch.inference_mode():
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total[0]
