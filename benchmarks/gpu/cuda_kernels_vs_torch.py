#!/usr/bin/env python3
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""Our CUDA kernels against PyTorch on the same GPU: parity first, then timing.

The GPU machines this project is lent have CUDA and PyTorch but no JVM, so the JMH benchmarks cannot run there.
This script calls libdeepspg_kernels.so straight through its C ABI (ctypes, device pointers of torch tensors, the
current torch stream) and compares every CUDA kernel with the spec's formulas composed from stock torch ops
(ARCHITECTURE.md sections 1.2, 1.5, 2.3, 3, 4.2, 4.3), in float64 where the kernel has a float64 variant and float32.
Timing: CUDA events, median of --iters after --warmup, our kernels with preallocated outputs and workspace, the stock
chains through torch autograd (which also allocates, from torch's caching allocator). For the attention and loss
kernels each row also prints our rate in GB/s under a minimal-traffic model (every input read once, every output
written once) and its fraction of the device's peak memory bandwidth (issue 15 item 4: >= 70 % at 1920x1080); the
peak is 2 x memory clock x bus width from the CUDA runtime, a datasheet figure for known GPUs, or --peak-gbs.

  cmake -S native -B native/build-gpu -DDEEPSPG_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
  cmake --build native/build-gpu -j
  python3 benchmarks/gpu/cuda_kernels_vs_torch.py native/build-gpu/libdeepspg_kernels.so [--json OUT.json]

Exit status 1 when a parity check fails.
"""
import argparse
import contextlib
import ctypes
import glob
import json
import math
import os
import statistics
import sys

import torch
import torch.nn.functional as F

P = ctypes.c_void_p
I64 = ctypes.c_int64
I32 = ctypes.c_int32
D = ctypes.c_double

SIGNATURES = {
    "channel_attention_workspace_bytes": (I64, [I64, I64, I64, I64, I32]),
    "channel_attention_cuda_gram": (I32, [I32]),
    "cuda_losses": (I32, [I32]),
    "channel_attention_forward_cuda_f32": (I32, [P] * 5 + [I64] * 4 + [P] * 7),
    "channel_attention_forward_cuda_f64": (I32, [P] * 5 + [I64] * 4 + [P] * 7),
    "channel_attention_backward_cuda_f32": (I32, [P] * 10 + [I64] * 4 + [P] * 7),
    "channel_attention_backward_cuda_f64": (I32, [P] * 10 + [I64] * 4 + [P] * 7),
    "retinex_prior_forward_cuda_f32": (I32, [P, I64, I64, I32, P, P]),
    "retinex_prior_backward_cuda_f32": (I32, [P, P, I64, I64, I32, P, P]),
    "retinex_lightup_forward_cuda_f32": (I32, [P, P, I64, P, P, P]),
    "retinex_lightup_backward_cuda_f32": (I32, [P, P, P, P, I64, P, P, P]),
    "edge_loss_workspace_bytes": (I64, [I64, I64, I64]),
    "edge_loss_cuda_f32": (I32, [P, P, I64, I64, I64, I32, P, P, P, P]),
    "kl_loss_workspace_bytes": (I64, [I64, I64, I64]),
    "kl_loss_cuda_f32": (I32, [P, P, I64, I64, I64, D, P, P, P, P]),
    "dwconv3x3_forward_cuda_f32": (I32, [P, P, I64, I64, I64, I64, I32, P, P, P]),
    "dwconv3x3_workspace_bytes": (I64, [I64, I64, I64, I64]),
    "dwconv3x3_backward_cuda_f32": (I32, [P, P, P, P, I64, I64, I64, I64, I32, P, P, P, P]),
    "channel_layernorm_forward_cuda_f32": (I32, [P, P, P, I64, I64, I64, D, P, P, P, P]),
    "channel_layernorm_workspace_bytes": (I64, [I64, I64, I64]),
    "channel_layernorm_backward_cuda_f32": (I32, [P, P, P, P, P, I64, I64, I64, P, P, P, P, P]),
}


class Kernels:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.deepspg_last_error.restype = ctypes.c_char_p
        self.lib.deepspg_build_info.restype = ctypes.c_char_p
        self.lib.deepspg_cuda_device_count.restype = I32
        for name, (res, args) in SIGNATURES.items():
            fn = getattr(self.lib, "deepspg_" + name)
            fn.restype, fn.argtypes = res, args

    def __getattr__(self, name):
        fn = getattr(self.lib, "deepspg_" + name)
        if fn.restype is I64:
            return fn

        def checked(*args):
            rc = fn(*args)
            if rc != 0:
                raise RuntimeError(f"deepspg_{name} returned {rc}: {self.lib.deepspg_last_error().decode()}")

        return checked


def ptr(t):
    return None if t is None else P(t.data_ptr())


def stream():
    return P(torch.cuda.current_stream().cuda_stream)


def workspace(nbytes):
    return torch.empty(max(1, nbytes), dtype=torch.uint8, device="cuda")


# ---------------------------------------------------------------------------------------------------------------
# Our kernels, wrapped as plain functions over torch tensors (forward returns what the backward needs).
# ---------------------------------------------------------------------------------------------------------------


class Attention:
    """Fused channel attention, spec 2.3; x, y, v, gate: [B, heads*c, N]; tau: [heads]."""

    def __init__(self, k, b, heads, c, n, dtype, gated):
        self.k, self.b, self.heads, self.c, self.n, self.gated = k, b, heads, c, n, gated
        suffix = "f64" if dtype == torch.float64 else "f32"
        self.fwd = getattr(k, "channel_attention_forward_cuda_" + suffix)
        self.bwd = getattr(k, "channel_attention_backward_cuda_" + suffix)
        o = dict(dtype=dtype, device="cuda")
        d = heads * c
        self.out = torch.empty(b, d, n, **o)
        self.G = torch.empty(b, heads, c, c, **o)
        self.A = torch.empty(b, heads, c, c, **o)
        self.r = torch.empty(b, heads, c, **o)
        self.s = torch.empty(b, heads, c, **o)
        self.dx, self.dy, self.dv = (torch.empty(b, d, n, **o) for _ in range(3))
        self.dgate = torch.empty(b, d, n, **o) if gated else None
        self.dtau = torch.empty(heads, **o)
        self.ws = workspace(k.channel_attention_workspace_bytes(b, heads, c, n, int(dtype == torch.float64)))

    def forward(self, x, y, v, gate, tau):
        self.fwd(ptr(x), ptr(y), ptr(v), ptr(gate), ptr(tau), self.b, self.heads, self.c, self.n, ptr(self.out),
                 ptr(self.G), ptr(self.A), ptr(self.r), ptr(self.s), ptr(self.ws), stream())
        return self.out

    def backward(self, dout, x, y, v, gate, tau):
        self.bwd(ptr(dout), ptr(x), ptr(y), ptr(v), ptr(gate), ptr(tau), ptr(self.G), ptr(self.A), ptr(self.r),
                 ptr(self.s), self.b, self.heads, self.c, self.n, ptr(self.dx), ptr(self.dy), ptr(self.dv),
                 ptr(self.dgate), ptr(self.dtau), ptr(self.ws), stream())
        return self.dx, self.dy, self.dv, self.dgate, self.dtau


def attention_ref(x, y, v, gate, tau, heads):
    b, d, n = x.shape
    c = d // heads
    vv = v if gate is None else v * gate
    xn = F.normalize(x.reshape(b, heads, c, n), dim=-1, eps=1e-12)
    yn = F.normalize(y.reshape(b, heads, c, n), dim=-1, eps=1e-12)
    a = (xn @ yn.transpose(-2, -1) * tau.reshape(1, heads, 1, 1)).softmax(-1)
    return (a @ vv.reshape(b, heads, c, n)).reshape(b, d, n)


def dwconv_ref(x, w, gelu):
    y = F.conv2d(x, w, padding=1, groups=x.shape[1])
    return F.gelu(y) if gelu else y


def layernorm_ref(x, g, beta, eps):
    mu = x.mean(1, keepdim=True)
    var = x.var(1, unbiased=False, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * g.reshape(1, -1, 1) + beta.reshape(1, -1, 1)


def edge_ref(out, gt, op):
    e = out - gt
    if op == 0:
        dx, dy = e[..., :, 1:] - e[..., :, :-1], e[..., 1:, :] - e[..., :-1, :]
        return dx.pow(2).mean() + dy.pow(2).mean()
    gx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=e.dtype, device=e.device)
    kernel = torch.stack([gx, gx.t()]).unsqueeze(1)
    planes = F.pad(e.unsqueeze(1), (1, 1, 1, 1), mode="replicate")
    g = F.conv2d(planes, kernel)
    return g[:, 0].pow(2).mean() + g[:, 1].pow(2).mean()


def kl_ref(z_out, z_gt, t):
    lp_out = F.log_softmax(z_out / t, dim=1)
    lp_gt = F.log_softmax(z_gt / t, dim=1)
    b, _, hw = z_out.shape
    return (lp_gt.exp() * (lp_gt - lp_out)).sum() / (b * hw)


# ---------------------------------------------------------------------------------------------------------------
# Parity
# ---------------------------------------------------------------------------------------------------------------

FAILURES = []
RESULTS = {"parity": [], "timing": []}
PEAK_GBS = None  # the device's peak memory bandwidth (main sets it; None: unknown, no fractions printed)
TARGET_FRACTION = 0.70  # issue 15 item 4, the attention and loss kernels at 1920x1080

# Datasheet peak memory bandwidth (GB/s) for the GPUs this project is lent, used when the runtime cannot say.
DATASHEET_GBS = (("H200", 4800.0), ("H100 NVL", 3900.0), ("H100 PCIe", 2000.0), ("H100", 3350.0))


def cudart_memory_attributes():
    """(memory clock in kHz, bus width in bits) from cudaDeviceGetAttribute, or (0, 0) when no libcudart answers."""
    names = ["libcudart.so", "libcudart.so.13", "libcudart.so.12", "/usr/local/cuda/lib64/libcudart.so"]
    names += sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libcudart*.so*")))
    for d in sys.path:  # the CUDA runtime wheel beside torch's
        names += sorted(glob.glob(os.path.join(d, "nvidia", "cuda_runtime", "lib", "libcudart.so*")))
    for name in names:
        try:
            rt = ctypes.CDLL(name)
        except OSError:
            continue
        value, got = ctypes.c_int(0), []
        for attribute in (36, 37):  # cudaDevAttrMemoryClockRate, cudaDevAttrGlobalMemoryBusWidth
            rc = rt.cudaDeviceGetAttribute(ctypes.byref(value), attribute, torch.cuda.current_device())
            got.append(value.value if rc == 0 else 0)
        if all(got):
            return got[0], got[1]
    return 0, 0


def peak_bandwidth_gbs(override, props, runtime_attributes=cudart_memory_attributes):
    """(peak GB/s or None, how it was found). Double data rate: bytes/s = 2 x clock x bus width / 8."""
    if override:
        return override, "--peak-gbs"
    clock_khz, bus_bits = getattr(props, "memory_clock_rate", 0), getattr(props, "memory_bus_width", 0)
    how = "torch device properties"
    if not (clock_khz and bus_bits):
        clock_khz, bus_bits = runtime_attributes()
        how = "cudaDeviceGetAttribute"
    if clock_khz and bus_bits:
        return 2 * clock_khz * 1e3 * bus_bits / 8 / 1e9, f"{how}: {clock_khz / 1e3:.0f} MHz x {bus_bits} bit x 2"
    for name, gbs in DATASHEET_GBS:
        if name in props.name:
            return gbs, f"datasheet figure for {name}"
    return None, "unknown (pass --peak-gbs)"


def compare(name, got, want, tol):
    # relative to the reference's largest magnitude, absolute below 1: gradients that are zero in exact arithmetic
    # (a 1-element row's normalisation, a 1-channel LayerNorm) come out as rounding noise on both sides
    scale = max(want.abs().max().item(), 1.0)
    err = (got - want).abs().max().item() / scale
    ok = err <= tol and math.isfinite(err)
    RESULTS["parity"].append({"check": name, "max_rel_err": err, "tol": tol, "ok": ok})
    print(f"  {'ok  ' if ok else 'FAIL'} {name:<58} max|err|/max(|ref|,1) = {err:.2e} (tol {tol:.0e})")
    if not ok:
        FAILURES.append(name)


# The CUDA attention's Gram kernels (deepspg_channel_attention_cuda_gram) and the row suffix of each; --gram picks
# which run (run-gpu-checks.sh runs the candidate in a process of its own, so that a fault there cannot cost the
# other rows).
GRAM_KERNELS = {"chunked": (0, ""), "blocked": (1, " [blocked]")}
GRAM_VARIANTS = tuple(GRAM_KERNELS.values())


@contextlib.contextmanager
def selected(k, setter, variant):
    """Runs the body with the C ABI's kernel selector `setter` set to `variant`, then restores the previous one (the
    selector returns it, or a negative status for an unknown variant)."""
    previous = getattr(k.lib, setter)(variant)
    if previous < 0:
        sys.exit(f"{setter}({variant}) refused: {k.lib.deepspg_last_error().decode()}")
    try:
        yield
    finally:
        getattr(k.lib, setter)(previous)


GRAM_SELECTOR = "deepspg_channel_attention_cuda_gram"


# The CUDA loss kernels (deepspg_cuda_losses) and the row suffix of each; --losses picks which run.
LOSS_KERNELS = {"measured": (0, ""), "one-pass": (1, " [one-pass]")}
LOSS_VARIANTS = tuple(LOSS_KERNELS.values())
LOSS_SELECTOR = "deepspg_cuda_losses"


def parity_attention(k):
    for variant, suffix in GRAM_VARIANTS:
        with selected(k, GRAM_SELECTOR, variant):
            parity_attention_cases(k, suffix)


def parity_attention_cases(k, suffix):
    cases = [(2, 1, 20, 64 * 64, True), (2, 4, 20, 32 * 32, False), (3, 2, 64, 33 * 17, True),
             (1, 3, 1, 5, True), (2, 1, 7, 1, False), (1, 1, 48, 300000, True)]
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 2e-4)):
        for b, heads, c, n, gated in cases:
            gen = torch.Generator(device="cuda").manual_seed(b * 1000 + c + n)
            o = dict(dtype=dtype, device="cuda")
            x, y, v, dout = (torch.randn(b, heads * c, n, generator=gen, **o) for _ in range(4))
            gate = torch.rand(b, heads * c, n, generator=gen, **o) if gated else None
            tau = torch.rand(heads, generator=gen, **o) * 3 + 0.1
            op = Attention(k, b, heads, c, n, dtype, gated)
            out = op.forward(x, y, v, gate, tau)
            grads = op.backward(dout, x, y, v, gate, tau)
            inputs = [t.double().clone().requires_grad_(True) for t in (x, y, v, tau)]
            g64 = gate.double().clone().requires_grad_(True) if gated else None
            ref = attention_ref(inputs[0], inputs[1], inputs[2], g64, inputs[3], heads)
            ref.backward(dout.double())
            tag = f"attention {str(dtype)[6:]} b{b} h{heads} c{c} n{n}{' gated' if gated else ''}{suffix}"
            compare(tag + " out", out.double(), ref.detach(), tol)
            for nm, got, t in zip(("dx", "dy", "dv"), grads[:3], inputs[:3]):
                compare(f"{tag} {nm}", got.double(), t.grad, tol * 5)
            if gated:
                compare(f"{tag} dgate", grads[3].double(), g64.grad, tol * 5)
            compare(f"{tag} dtau", grads[4].double(), inputs[3].grad, tol * 50)


def parity_others(k):
    o = dict(dtype=torch.float32, device="cuda")
    torch.manual_seed(1)
    # depthwise 3x3 (+GELU)
    for b, ch, h, w in ((2, 20, 37, 53), (1, 80, 64, 64), (2, 3, 1, 1), (1, 4, 300, 517)):
        for act in (0, 1):
            x, dy = torch.randn(b, ch, h, w, **o), torch.randn(b, ch, h, w, **o)
            wt = torch.randn(ch, 1, 3, 3, **o) * 0.3
            y, pre = torch.empty_like(x), torch.empty_like(x)
            k.dwconv3x3_forward_cuda_f32(ptr(x), ptr(wt), b, ch, h, w, act, ptr(y), ptr(pre), stream())
            dx, dw = torch.empty_like(x), torch.empty_like(wt)
            ws = workspace(k.dwconv3x3_workspace_bytes(b, ch, h, w))
            k.dwconv3x3_backward_cuda_f32(ptr(dy), ptr(x), ptr(wt), ptr(pre), b, ch, h, w, act, ptr(dx), ptr(dw),
                                          ptr(ws), stream())
            x64, w64 = x.double().requires_grad_(True), wt.double().requires_grad_(True)
            ref = dwconv_ref(x64, w64, act == 1)
            ref.backward(dy.double())
            tag = f"dwconv3x3{'+gelu' if act else ''} {b}x{ch}x{h}x{w}"
            compare(tag + " y", y.double(), ref.detach(), 2e-6)
            compare(tag + " dx", dx.double(), x64.grad, 2e-6)
            compare(tag + " dweight", dw.double(), w64.grad, 2e-5)
    # channel LayerNorm
    for b, ch, hw in ((2, 20, 4096), (1, 160, 777), (3, 1, 10), (3, 7, 9000)):
        x, dy = torch.randn(b, ch, hw, **o) * 3 + 1, torch.randn(b, ch, hw, **o)
        g, beta = torch.randn(ch, **o), torch.randn(ch, **o)
        y, mean, rstd = torch.empty_like(x), torch.empty(b, hw, **o), torch.empty(b, hw, **o)
        k.channel_layernorm_forward_cuda_f32(ptr(x), ptr(g), ptr(beta), b, ch, hw, 1e-5, ptr(y), ptr(mean),
                                             ptr(rstd), stream())
        dx, dg, db = torch.empty_like(x), torch.empty_like(g), torch.empty_like(beta)
        ws = workspace(k.channel_layernorm_workspace_bytes(b, ch, hw))
        k.channel_layernorm_backward_cuda_f32(ptr(dy), ptr(x), ptr(g), ptr(mean), ptr(rstd), b, ch, hw, ptr(dx),
                                              ptr(dg), ptr(db), ptr(ws), stream())
        t = [a.double().requires_grad_(True) for a in (x, g, beta)]
        ref = layernorm_ref(*t, 1e-5)
        ref.backward(dy.double())
        tag = f"channel layernorm {b}x{ch}x{hw}"
        compare(tag + " y", y.double(), ref.detach(), 1e-5)
        # dx of a 1-channel LayerNorm is 0 in exact arithmetic: float32 rounding of x - mu times rstd = 1/sqrt(eps)
        for nm, got, tt in zip(("dx", "dgamma", "dbeta"), (dx, dg, db), t):
            compare(f"{tag} {nm}", got.double(), tt.grad, 1e-4 if ch == 1 else 2e-5)
    # Retinex prior (mean/max) and light-up
    for mode in (0, 1):
        b, hw = 2, 123 * 45
        img, dz = torch.rand(b, 3, hw, **o), torch.randn(b, 4, hw, **o)
        z, dimg = torch.empty(b, 4, hw, **o), torch.empty(b, 3, hw, **o)
        k.retinex_prior_forward_cuda_f32(ptr(img), b, hw, mode, ptr(z), stream())
        k.retinex_prior_backward_cuda_f32(ptr(dz), ptr(img), b, hw, mode, ptr(dimg), stream())
        i64 = img.double().requires_grad_(True)
        p = i64.mean(1, keepdim=True) if mode == 0 else i64.max(1, keepdim=True)[0]
        ref = torch.cat([i64, p], 1)
        ref.backward(dz.double())
        compare(f"retinex prior {'mean' if mode == 0 else 'max'} z", z.double(), ref.detach(), 1e-6)
        compare(f"retinex prior {'mean' if mode == 0 else 'max'} dimage", dimg.double(), i64.grad, 1e-6)
    n = 3 * 4 * 1000
    img, m = torch.rand(n, **o), torch.randn(n, **o)
    m[:7] = -1.0  # the 1e-4 guard
    dxr, dxl = torch.randn(n, **o), torch.randn(n, **o)
    xr, xl, dimg, dm = (torch.empty(n, **o) for _ in range(4))
    k.retinex_lightup_forward_cuda_f32(ptr(img), ptr(m), n, ptr(xr), ptr(xl), stream())
    k.retinex_lightup_backward_cuda_f32(ptr(dxr), ptr(dxl), ptr(img), ptr(m), n, ptr(dimg), ptr(dm), stream())
    i64, m64 = img.double().requires_grad_(True), m.double().requires_grad_(True)
    rxr, rxl = i64 * m64 + i64, (m64 + 1).clamp_min(1e-4).reciprocal()
    torch.autograd.backward([rxr, rxl], [dxr.double(), dxl.double()])
    compare("retinex light-up xr", xr.double(), rxr.detach(), 1e-6)
    compare("retinex light-up xl", xl.double(), rxl.detach(), 1e-6)
    compare("retinex light-up dimage", dimg.double(), i64.grad, 1e-6)
    compare("retinex light-up dm", dm.double(), m64.grad, 1e-6)


def parity_losses(k):
    """Edge loss (both operators) and KL loss, on each loss kernel set of LOSS_VARIANTS."""
    for variant, suffix in LOSS_VARIANTS:
        with selected(k, LOSS_SELECTOR, variant):
            parity_losses_cases(k, suffix)


def parity_losses_cases(k, suffix):
    o = dict(dtype=torch.float32, device="cuda")
    torch.manual_seed(1)
    for op in (0, 1):
        planes, h, w = 6, 67, 129
        out, gt = torch.rand(planes, h, w, **o), torch.rand(planes, h, w, **o)
        loss, grad = torch.empty(1, dtype=torch.float64, device="cuda"), torch.empty_like(out)
        ws = workspace(k.edge_loss_workspace_bytes(planes, h, w))
        k.edge_loss_cuda_f32(ptr(out), ptr(gt), planes, h, w, op, ptr(loss), ptr(grad), ptr(ws), stream())
        o64 = out.double().requires_grad_(True)
        name = "diff" if op == 0 else "sobel"
        compare_loss(f"edge loss {name}", suffix, loss, grad, edge_ref(o64, gt.double(), op), o64, 1e-6, 1e-5)
    b, kk, hw, t = 2, 150, 4096, 2.0
    zo, zg = torch.randn(b, kk, hw, **o) * 4, torch.randn(b, kk, hw, **o) * 4
    loss, grad = torch.empty(1, dtype=torch.float64, device="cuda"), torch.empty_like(zo)
    ws = workspace(k.kl_loss_workspace_bytes(b, kk, hw))
    k.kl_loss_cuda_f32(ptr(zo), ptr(zg), b, kk, hw, t, ptr(loss), ptr(grad), ptr(ws), stream())
    z64 = zo.double().requires_grad_(True)
    compare_loss("KL loss", suffix, loss, grad, kl_ref(z64, zg.double(), t), z64, 1e-5, 1e-5)


def compare_loss(name, suffix, loss, grad, ref, x64, value_tol, grad_tol):
    """A loss kernel's value and gradient against its float64 reference `ref` of the leaf `x64`."""
    ref.backward()
    compare(f"{name} value{suffix}", loss, ref.detach().reshape(1), value_tol)
    compare(f"{name} grad{suffix}", grad.double(), x64.grad, grad_tol)


# ---------------------------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------------------------


def cuda_ms(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def report(name, ours, stock, nbytes=None):
    """One timing row; nbytes: the minimal traffic of our kernel call(s), for GB/s and the fraction of the peak."""
    row = {"case": name, "ours_ms": ours, "stock_ms": stock, "speedup": stock / ours}
    line = f"  {name:<56} ours {ours:8.3f} ms   stock {stock:8.3f} ms   {stock / ours:5.2f}x"
    if nbytes:
        row["ours_gbs"] = nbytes / ours / 1e6
        line += f"   {row['ours_gbs']:7.0f} GB/s"
        if PEAK_GBS:
            row["peak_fraction"] = row["ours_gbs"] / PEAK_GBS
            line += f" = {100 * row['peak_fraction']:4.1f} % of peak"
    RESULTS["timing"].append(row)
    print(line)


def timing(k, warmup, iters, attention_only=False):
    o = dict(dtype=torch.float32, device="cuda")
    torch.manual_seed(2)
    # DeepSPG-S attention shapes (IG-MSA: value gating on), as in the JMH ChannelAttentionBenchmark, and a
    # full-resolution 1920x1080 level-0 at batch 1 (inference).
    shapes = (("L0 b4 d20 h1 256x256", 4, 1, 20, 256 * 256), ("L2 b4 d80 h4 64x64", 4, 4, 20, 64 * 64),
              ("L0 b1 d20 h1 1920x1080", 1, 1, 20, 1920 * 1080))
    for label, b, heads, c, hw in shapes:
        x, y, v, dout = (torch.randn(b, heads * c, hw, **o) for _ in range(4))
        gate = torch.rand(b, heads * c, hw, **o)
        tau = torch.ones(heads, **o)
        op = Attention(k, b, heads, c, hw, torch.float32, True)
        ours = {}
        for variant, suffix in GRAM_VARIANTS:
            with selected(k, GRAM_SELECTOR, variant):
                ours[suffix] = (cuda_ms(lambda: op.forward(x, y, v, gate, tau), warmup, iters),
                                cuda_ms(lambda: (op.forward(x, y, v, gate, tau),
                                                 op.backward(dout, x, y, v, gate, tau)), warmup, iters))
        leaves = [t.clone().requires_grad_(True) for t in (x, y, v, gate, tau)]
        with torch.no_grad():
            stock_f = cuda_ms(lambda: attention_ref(*leaves, heads), warmup, iters)

        def stock_fwd_bwd():
            attention_ref(*leaves, heads).backward(dout)

        stock_fb = cuda_ms(stock_fwd_bwd, warmup, iters)
        tensor = 4 * b * heads * c * hw  # bytes of one [B, d, N] float32 tensor
        # forward: x, y, v, gate read, out written; backward: dout, x, y, v, gate read, dx, dy, dv, dgate written
        for suffix, (ours_f, ours_fb) in ours.items():
            report(f"attention {label} forward{suffix}", ours_f, stock_f, 5 * tensor)
            report(f"attention {label} fwd+bwd{suffix}", ours_fb, stock_fb, 14 * tensor)
    if attention_only:
        return
    # depthwise 3x3 + GELU and channel LayerNorm at the level-0 shape (batch 4, 40 channels: the FFN's expansion)
    b, ch, h, w = 4, 40, 256, 256
    x, dy = torch.randn(b, ch, h, w, **o), torch.randn(b, ch, h, w, **o)
    wt = torch.randn(ch, 1, 3, 3, **o)
    y, pre, dx, dw = torch.empty_like(x), torch.empty_like(x), torch.empty_like(x), torch.empty_like(wt)
    ws = workspace(k.dwconv3x3_workspace_bytes(b, ch, h, w))

    def ours_dw_fwd():
        k.dwconv3x3_forward_cuda_f32(ptr(x), ptr(wt), b, ch, h, w, 1, ptr(y), ptr(pre), stream())

    def ours_dw():
        ours_dw_fwd()
        k.dwconv3x3_backward_cuda_f32(ptr(dy), ptr(x), ptr(wt), ptr(pre), b, ch, h, w, 1, ptr(dx), ptr(dw), ptr(ws),
                                      stream())

    xl, wl = x.clone().requires_grad_(True), wt.clone().requires_grad_(True)
    def ours_dw_infer():  # no pre-activation saved: what inference calls
        k.dwconv3x3_forward_cuda_f32(ptr(x), ptr(wt), b, ch, h, w, 1, ptr(y), None, stream())

    with torch.no_grad():
        stock_fwd = cuda_ms(lambda: dwconv_ref(xl, wl, True), warmup, iters)
        report(f"dwconv3x3+gelu {b}x{ch}x{h}x{w} forward", cuda_ms(ours_dw_fwd, warmup, iters), stock_fwd)
        report(f"dwconv3x3+gelu {b}x{ch}x{h}x{w} fwd (no pre)", cuda_ms(ours_dw_infer, warmup, iters), stock_fwd)
    report(f"dwconv3x3+gelu {b}x{ch}x{h}x{w} fwd+bwd", cuda_ms(ours_dw, warmup, iters),
           cuda_ms(lambda: dwconv_ref(xl, wl, True).backward(dy), warmup, iters))
    ch = 20
    x, dy = torch.randn(b, ch, h * w, **o), torch.randn(b, ch, h * w, **o)
    g, beta = torch.randn(ch, **o), torch.randn(ch, **o)
    y, dx = torch.empty_like(x), torch.empty_like(x)
    mean, rstd = torch.empty(b, h * w, **o), torch.empty(b, h * w, **o)
    dg, db = torch.empty_like(g), torch.empty_like(g)
    ws = workspace(k.channel_layernorm_workspace_bytes(b, ch, h * w))

    def ours_ln():
        k.channel_layernorm_forward_cuda_f32(ptr(x), ptr(g), ptr(beta), b, ch, h * w, 1e-5, ptr(y), ptr(mean),
                                             ptr(rstd), stream())
        k.channel_layernorm_backward_cuda_f32(ptr(dy), ptr(x), ptr(g), ptr(mean), ptr(rstd), b, ch, h * w, ptr(dx),
                                              ptr(dg), ptr(db), ptr(ws), stream())

    leaves = [t.clone().requires_grad_(True) for t in (x, g, beta)]
    report(f"channel layernorm {b}x{ch}x{h}x{w} fwd+bwd", cuda_ms(ours_ln, warmup, iters),
           cuda_ms(lambda: layernorm_ref(*leaves, 1e-5).backward(dy), warmup, iters))
    timing_losses(k, warmup, iters)


def timing_losses(k, warmup, iters):
    """The losses at the training shapes (edge loss on [B*3, 256, 256], KL on HRNet's 150 classes at 64x64) and at
    1920x1080 (one RGB image; KL at HRNet's 1/4 resolution, 270x480), on each loss kernel set of LOSS_VARIANTS; each
    reads two tensors and writes one gradient."""
    o = dict(dtype=torch.float32, device="cuda")
    torch.manual_seed(3)
    loss = torch.empty(1, dtype=torch.float64, device="cuda")
    for planes, h, w in ((4 * 3, 256, 256), (3, 1080, 1920)):
        out, gt = torch.rand(planes, h, w, **o), torch.rand(planes, h, w, **o)
        grad = torch.empty_like(out)
        ws = workspace(k.edge_loss_workspace_bytes(planes, h, w))
        ol = out.clone().requires_grad_(True)
        for op_, name in ((0, "diff"), (1, "sobel")):
            stock = cuda_ms(lambda: edge_ref(ol, gt, op_).backward(), warmup, iters)
            for variant, suffix in LOSS_VARIANTS:
                with selected(k, LOSS_SELECTOR, variant):
                    report(f"edge loss {name} {planes}x{h}x{w} value+grad{suffix}",
                           cuda_ms(lambda: k.edge_loss_cuda_f32(ptr(out), ptr(gt), planes, h, w, op_, ptr(loss),
                                                                ptr(grad), ptr(ws), stream()), warmup, iters),
                           stock, 3 * 4 * planes * h * w)
    for b, kk, h, w in ((4, 150, 64, 64), (1, 150, 270, 480)):
        hw = h * w
        zo, zg = torch.randn(b, kk, hw, **o), torch.randn(b, kk, hw, **o)
        grad = torch.empty_like(zo)
        ws = workspace(k.kl_loss_workspace_bytes(b, kk, hw))
        zl = zo.clone().requires_grad_(True)
        stock = cuda_ms(lambda: kl_ref(zl, zg, 1.0).backward(), warmup, iters)
        for variant, suffix in LOSS_VARIANTS:
            with selected(k, LOSS_SELECTOR, variant):
                report(f"KL loss {b}x{kk}x{h}x{w} value+grad{suffix}",
                       cuda_ms(lambda: k.kl_loss_cuda_f32(ptr(zo), ptr(zg), b, kk, hw, 1.0, ptr(loss), ptr(grad),
                                                          ptr(ws), stream()), warmup, iters),
                       stock, 3 * 4 * b * kk * hw)


def bandwidth_summary():
    """The 1920x1080 attention and loss rows against the 70 % target (issue 15 item 4)."""
    rows = [r for r in RESULTS["timing"] if "peak_fraction" in r and ("1920" in r["case"] or "270x480" in r["case"])]
    if not rows:
        print("bandwidth at 1920x1080: no peak known (pass --peak-gbs)")
        return
    print(f"bandwidth at 1920x1080 against {100 * TARGET_FRACTION:.0f} % of the {PEAK_GBS:.0f} GB/s peak:")
    for r in rows:
        verdict = "met" if r["peak_fraction"] >= TARGET_FRACTION else "missed"
        print(f"  {r['case']:<56} {100 * r['peak_fraction']:5.1f} %  {verdict}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("library", help="path to libdeepspg_kernels.so built with CUDA")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--json", help="write parity and timing results here")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--peak-gbs", type=float, help="the device's peak memory bandwidth in GB/s (default: asked)")
    ap.add_argument("--gram", choices=("both", *GRAM_KERNELS), default="both",
                    help="the attention's Gram kernel(s) to check and time (default: both)")
    ap.add_argument("--losses", choices=("both", *LOSS_KERNELS), default="both",
                    help="the loss kernel set(s) to check and time (default: both)")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--attention-only", action="store_true", help="only the attention's parity and timing")
    only.add_argument("--losses-only", action="store_true", help="only the losses' parity and timing")
    args = ap.parse_args()
    global GRAM_VARIANTS, LOSS_VARIANTS
    if args.gram != "both":
        GRAM_VARIANTS = (GRAM_KERNELS[args.gram],)
    if args.losses != "both":
        LOSS_VARIANTS = (LOSS_KERNELS[args.losses],)
    k = Kernels(args.library)
    if k.lib.deepspg_cuda_device_count() < 1:
        sys.exit("the kernel library sees no CUDA device: " + k.lib.deepspg_build_info().decode())
    RESULTS["device"] = torch.cuda.get_device_name()
    RESULTS["torch"] = torch.__version__
    RESULTS["build"] = k.lib.deepspg_build_info().decode()
    print(f"{RESULTS['device']}, torch {torch.__version__}, {RESULTS['build']}")
    global PEAK_GBS
    PEAK_GBS, how = peak_bandwidth_gbs(args.peak_gbs, torch.cuda.get_device_properties(torch.cuda.current_device()))
    RESULTS["peak_gbs"], RESULTS["peak_source"] = PEAK_GBS, how
    print(f"peak memory bandwidth: {f'{PEAK_GBS:.0f} GB/s' if PEAK_GBS else 'unknown'} ({how})")
    torch.backends.cuda.matmul.allow_tf32 = False  # the stock float32 reference must stay float32
    torch.backends.cudnn.allow_tf32 = False
    print("parity (ours vs the spec's formulas in torch float64 autograd):")
    if not args.losses_only:
        parity_attention(k)
    if not args.attention_only and not args.losses_only:
        parity_others(k)
    if not args.attention_only:
        parity_losses(k)
    if not args.no_timing:
        print(f"timing (CUDA events, median of {args.iters} after {args.warmup} warm-up calls; float32):")
        if args.losses_only:
            timing_losses(k, args.warmup, args.iters)
        else:
            timing(k, args.warmup, args.iters, args.attention_only)
        bandwidth_summary()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(RESULTS, f, indent=1)
    if FAILURES:
        print(f"{len(FAILURES)} parity check(s) failed: {', '.join(FAILURES)}")
        sys.exit(1)
    print("all parity checks passed")


if __name__ == "__main__":
    main()
