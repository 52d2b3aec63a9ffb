#!/usr/bin/python3
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""Peers for the side-by-side benchmark of the image priors' forward (issue: inference evidence).

The workload is what org.deepspg.model.prior.ImagePrior#run(rgb01) computes in our Java code: ImageNet normalisation
of RGB in [0, 1], then the network, returning the three SEM feature maps (strides 4, 8, 16) and the class logits:
  hrnet-w48  HrnetPrior: HRNetV2-W48, ADE20K head (150 classes), HRNetConfig.w48Ade20k(); features = stage-4
             branches 0..2 (48/96/192 ch), logits = last_layer output at stride 4. Random init (timing only).
  espnetv2   EspnetPrior: ESPNetv2 s = 0.5 or 2.0, Cityscapes (20 classes) or PASCAL VOC (21); features = encoder
             maps l2, l3, l4, logits = bu_dec_l4 output at stride 2 (no full-size resize, as forward(x, false)).
             The real EdgeNets weights with --weights FILE (scale and classes read from the file), else random init.
Both PyTorch modules are translations of OUR Java implementation (java/.../model/hrnet, java/.../model/espnet) and of
../shared/priors/espnetv2/SOURCES.md, with the upstream state-dict names, so that the upstream files load strictly.

Then
  1. times PyTorch eager (torch.inference_mode, fp32, batch 1, torch.rand input) with a given intra-op thread count,
  2. counts the multiply-accumulates of one forward (peers_common.py: Conv2d / ConvTranspose2d / Linear hooks),
  3. with --onnx, exports the same module to ONNX (opset 14; input "input", outputs "f0", "f1", "f2", "logits") for
     ONNX Runtime's Java API (benchmarks/.../EnhancementPeersBenchmark.java). With --features-only the workload is
     ImagePrior#features instead (f0, f1, f2 alone: no HRNet head, no ESPNetv2 decoder), timed and exported so.
     ESPNetv2's pyramid pooling uses adaptive average pools whose sizes do not divide, which torch.onnx cannot
     export; while exporting (and only then) those pools are computed per axis from stride-1 average pools (one per
     bin width) and a gather of each bin (the same function: output i averages [floor(i*In/Out), ceil((i+1)*In/Out)),
     at about the cost of the pool itself). --check measures that path against the eager one.
  4. with --check, verifies the translation:
     hrnet: the tiny-HRNet fixture (../shared/fixtures/hrnet: config.json, tiny_*.pth, goldens of the official
            seg_hrnet code; case 1 from input_norm.bin and from input_raw.bin through the normalisation, case 2 batch 2
            at 38x54 from input2_raw.bin), tolerance 1e-4 as HRNetFixtureTest; and the names and shapes of the W48
            module against w48_ade20k_keys.txt (65,953,830 parameters).
     espnetv2: the upstream golden outputs (../shared/priors/espnetv2/golden, s = 2.0 city and pascal, real weights):
            random input (already normalised) -> logits_s2, enc_l4 (l4), full-size corner crops; the photo (already
            normalised) -> logits_s2 at rows/cols every 8th + last, and the argmax of the full-size logits against the
            stored palette PNG (ties: top-2 margin < 1e-3). Tolerance 1e-4 as ESPNetv2Test. Also loads the s = 0.5
            file strictly and compares the parameter counts (789,242 / 789,253 / 80,342).
Runs with Debian's python3-torch (1.13): `apt-get install python3-torch`, then
  /usr/bin/python3 benchmarks/peers/prior_peers.py --prior hrnet-w48 --threads 2 --height 416 --width 608 \
      --onnx /tmp/prior-hrnet-w48.onnx
  /usr/bin/python3 benchmarks/peers/prior_peers.py --prior espnetv2 \
      --weights ../shared/priors/espnetv2/espnetv2_s_0.5_city_1024x512.pth --threads 2 --height 416 --width 608
  /usr/bin/python3 benchmarks/peers/prior_peers.py --prior espnetv2 --scale 2.0 --classes 20 --check ...
Prints one JSON line with the eager timings (ms per forward: median, mean, min over --iters runs after warm-up), the
multiply-accumulates of one forward, the ONNX path and, with --check, the parity results; row "prior-hrnet-w48",
"prior-espnetv2-s0.5" or "prior-espnetv2-s2.0"; benchmarks/peers/peers_table.py reads it.
"""
import argparse
import json
import math
import os
import statistics
import struct
import time
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from peers_common import add_common_args, count_macs

here = os.path.dirname(os.path.abspath(__file__))

MEAN = (0.485, 0.456, 0.406)  # ImageNet, RGB (HRNet.IMAGENET_MEAN, ESPNetv2.MEAN)
STD = (0.229, 0.224, 0.225)
TOL = 1e-4                    # HRNetFixtureTest FEATURE_TOL, ESPNetv2Test TOL
TIE = 1e-3                    # ESPNetv2Test: top-2 margin under which an argmax disagreement is a tie

_force_export_path = [False]  # --check: run the ONNX-export formulation in eager mode


def exporting():
    return _force_export_path[0] or torch.onnx.is_in_onnx_export()


class Normalize(nn.Module):
    """(x - mean) / std per channel (HRNet.normalize / ESPNetv2.normalize), float32 constants, not in the state dict."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN, dtype=torch.float32).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD, dtype=torch.float32).reshape(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        return (x - self.mean) / self.std


class Prior(nn.Module):
    """ImagePrior#run: normalise RGB in [0, 1], run the network, return (f0, f1, f2, logits); with features_only,
    ImagePrior#features: (f0, f1, f2) without the work that only the logits need."""

    def __init__(self, net, features_only=False):
        super().__init__()
        self.norm = Normalize()
        self.net = net
        self.features_only = features_only

    def forward(self, rgb01):
        x = self.norm(rgb01)
        return self.net.prior_features(x) if self.features_only else self.net.prior_outputs(x)


# ------------------------------------------------------------------------------------------------------------------
# HRNetV2 (org.deepspg.model.hrnet: HRNetConfig, HRNet, HighResolutionModule, Layers)
# ------------------------------------------------------------------------------------------------------------------

class HRNetConfig:
    """stages[k] = (num_modules, block "BASIC"|"BOTTLENECK", num_blocks[], num_channels[]) for STAGE1..4."""
    EXPANSION = {"BASIC": 1, "BOTTLENECK": 4}
    STEM = 64

    def __init__(self, stages, num_classes, final_conv_kernel=1, align_corners=True, bn_eps=1e-5, bn_momentum=0.1):
        for i, (m, b, nb, nc) in enumerate(stages):
            if len(nb) != i + 1 or len(nc) != i + 1 or b not in self.EXPANSION or m < 1:
                raise ValueError("stage%d must have %d branches and a BASIC or BOTTLENECK block, got %r"
                                 % (i + 1, i + 1, stages[i]))
        if stages[0][0] != 1:
            raise ValueError("stage1 must have exactly one module (layer1)")
        if final_conv_kernel not in (1, 3):
            raise ValueError("final_conv_kernel must be 1 or 3")
        self.stages = [(m, b, list(nb), list(nc)) for m, b, nb, nc in stages]
        self.num_classes, self.final_conv_kernel = num_classes, final_conv_kernel
        self.align_corners, self.bn_eps, self.bn_momentum = align_corners, bn_eps, bn_momentum

    @staticmethod
    def w48_ade20k():
        """HRNetConfig.w48Ade20k(): the official ADE20K W48 yaml (65,953,830 parameters)."""
        return HRNetConfig([(1, "BOTTLENECK", [4], [64]),
                            (1, "BASIC", [4, 4], [48, 96]),
                            (4, "BASIC", [4, 4, 4], [48, 96, 192]),
                            (3, "BASIC", [4, 4, 4, 4], [48, 96, 192, 384])], 150, 1, True, 1e-5, 0.1)

    @staticmethod
    def from_json(path):
        """The neutral form of the fixture's config.json (stages.STAGE1..4) or the yacs form (MODEL.EXTRA)."""
        with open(path) as f:
            m = json.load(f)
        if "stages" in m:
            st = [m["stages"]["STAGE%d" % (i + 1)] for i in range(4)]
            bn = m.get("bn", {})
            return HRNetConfig([(s["num_modules"], s["block"].upper(), s["num_blocks"], s["num_channels"]) for s in st],
                               m["num_classes"], m["final_conv_kernel"], m.get("align_corners", True),
                               bn.get("eps", 1e-5), bn.get("momentum", 0.1))
        y = m.get("yaml_equivalent", m)
        ex = y["MODEL"]["EXTRA"]
        st = [ex["STAGE%d" % (i + 1)] for i in range(4)]
        return HRNetConfig([(s["NUM_MODULES"], s["BLOCK"].upper(), s["NUM_BLOCKS"], s["NUM_CHANNELS"]) for s in st],
                           y["DATASET"]["NUM_CLASSES"], ex["FINAL_CONV_KERNEL"], y["MODEL"].get("ALIGN_CORNERS", True))

    def out_channels(self, k):
        _, b, _, nc = self.stages[k]
        return [c * self.EXPANSION[b] for c in nc]

    def last_layer_channels(self):
        return sum(self.out_channels(3))


def hr_conv(i, o, k, stride, bias):
    return nn.Conv2d(i, o, k, stride, (k - 1) // 2, bias=bias)


def hr_bn(c, cfg):
    return nn.BatchNorm2d(c, eps=cfg.bn_eps, momentum=cfg.bn_momentum)


class ConvBn(nn.Sequential):
    """Layers.ConvBn: Sequential(conv "0", BN "1") [+ ReLU, no module]."""

    def __init__(self, i, o, k, stride, relu, cfg):
        super().__init__(hr_conv(i, o, k, stride, False), hr_bn(o, cfg))
        self.relu = relu

    def forward(self, x):
        y = super().forward(x)
        return F.relu(y) if self.relu else y


class BasicBlock(nn.Module):
    def __init__(self, i, planes, stride, down, cfg):
        super().__init__()
        self.conv1, self.bn1 = hr_conv(i, planes, 3, stride, False), hr_bn(planes, cfg)
        self.conv2, self.bn2 = hr_conv(planes, planes, 3, 1, False), hr_bn(planes, cfg)
        self.downsample = ConvBn(i, planes, 1, stride, False, cfg) if down else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    def __init__(self, i, planes, stride, down, cfg):
        super().__init__()
        o = planes * 4
        self.conv1, self.bn1 = hr_conv(i, planes, 1, 1, False), hr_bn(planes, cfg)
        self.conv2, self.bn2 = hr_conv(planes, planes, 3, stride, False), hr_bn(planes, cfg)
        self.conv3, self.bn3 = hr_conv(planes, o, 1, 1, False), hr_bn(o, cfg)
        self.downsample = ConvBn(i, o, 1, stride, False, cfg) if down else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def make_layer(block, i, planes, blocks, stride, cfg):
    """Layers.makeLayer: downsample on the first block when stride != 1 or in != planes * expansion."""
    exp = HRNetConfig.EXPANSION[block]
    cls = BasicBlock if block == "BASIC" else Bottleneck
    layers = [cls(i, planes, stride, stride != 1 or i != planes * exp, cfg)]
    layers += [cls(planes * exp, planes, 1, False, cfg) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    def __init__(self, stage, in_channels, cfg):
        super().__init__()
        _, block, nb, nc = stage
        out = [c * HRNetConfig.EXPANSION[block] for c in nc]
        self.n = len(nb)
        self.align_corners = cfg.align_corners
        self.branches = nn.ModuleList([make_layer(block, in_channels[i], nc[i], nb[i], 1, cfg) for i in range(self.n)])
        if self.n == 1:
            self.fuse_layers = None
            return
        rows = []
        for i in range(self.n):
            row = []
            for j in range(self.n):
                if j > i:
                    row.append(ConvBn(out[j], out[i], 1, 1, False, cfg))
                elif j == i:
                    row.append(None)
                else:
                    row.append(nn.Sequential(*[ConvBn(out[j], out[i] if k == i - j - 1 else out[j], 3, 2,
                                                      k != i - j - 1, cfg) for k in range(i - j)]))
            rows.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(rows)

    def forward(self, x, outputs=None):
        """outputs: how many fused outputs (the first ones; None: all), as HighResolutionModule.forward(x, outputs)."""
        y = [self.branches[i](x[i]) for i in range(self.n)]
        if self.n == 1:
            return y
        outs = []
        for i in range(self.n if outputs is None else min(outputs, self.n)):
            acc = y[0] if i == 0 else self._apply(i, 0, y[0], y[i])
            for j in range(1, self.n):
                acc = acc + (y[j] if i == j else self._apply(i, j, y[j], y[i]))
            outs.append(F.relu(acc))
        return outs

    def _apply(self, i, j, t, target):
        f = self.fuse_layers[i][j](t)
        if j > i:
            f = F.interpolate(f, size=(int(target.shape[2]), int(target.shape[3])), mode="bilinear",
                              align_corners=self.align_corners)
        return f


class HRNet(nn.Module):
    """HRNet.java: state-dict names of the official seg_hrnet (without the training wrapper's "model." prefix)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        stem = HRNetConfig.STEM
        self.conv1, self.bn1 = hr_conv(3, stem, 3, 2, False), hr_bn(stem, cfg)
        self.conv2, self.bn2 = hr_conv(stem, stem, 3, 2, False), hr_bn(stem, cfg)
        _, b1, nb1, nc1 = cfg.stages[0]
        self.layer1 = make_layer(b1, stem, nc1[0], nb1[0], 1, cfg)
        pre = cfg.out_channels(0)
        for t in range(3):
            cur = cfg.out_channels(t + 1)
            self.add_module("transition%d" % (t + 1), self._transition(pre, cur))
            self.add_module("stage%d" % (t + 2), nn.Sequential(
                *[HighResolutionModule(cfg.stages[t + 1], cur, cfg) for _ in range(cfg.stages[t + 1][0])]))
            pre = cur
        last = cfg.last_layer_channels()
        k = cfg.final_conv_kernel
        self.last_layer = nn.Sequential(hr_conv(last, last, 1, 1, True), hr_bn(last, cfg), nn.ReLU(),
                                        hr_conv(last, cfg.num_classes, k, 1, True))

    def _transition(self, pre, cur):
        out = []
        for i in range(len(cur)):
            if i < len(pre):
                out.append(ConvBn(pre[i], cur[i], 3, 1, True, cfg=self.cfg) if cur[i] != pre[i] else None)
            else:
                n = i + 1 - len(pre)
                c = pre[-1]
                out.append(nn.Sequential(*[ConvBn(c, cur[i] if j == i - len(pre) else c, 3, 2, True, self.cfg)
                                           for j in range(n)]))
        return nn.ModuleList(out)

    def forward(self, x):
        """Already normalised input -> (logits at stride 4, [the four stage-4 branch outputs])."""
        ys = self.body(x)
        h, w = int(ys[0].shape[2]), int(ys[0].shape[3])
        parts = [ys[0]] + [F.interpolate(y, size=(h, w), mode="bilinear", align_corners=self.cfg.align_corners)
                           for y in ys[1:]]
        return self.last_layer(torch.cat(parts, 1)), ys

    def body(self, x, outputs=None):
        """Stem to stage 4; the last module fuses only its first `outputs` branches (HRNet.body)."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        ys = [self.layer1(x)]
        for t in range(3):
            tr = getattr(self, "transition%d" % (t + 1))
            xs = []
            for i, m in enumerate(tr):
                src = ys[i] if i < len(ys) else ys[-1]
                xs.append(src if m is None else m(src))
            stage = getattr(self, "stage%d" % (t + 2))
            for k, m in enumerate(stage):
                xs = m(xs, outputs if t == 2 and k == len(stage) - 1 else None)
            ys = xs
        return ys

    def prior_outputs(self, x):
        """HrnetPrior.run: branches 0, 1, 2 and the stride-4 logits."""
        logits, f = self.forward(x)
        return f[0], f[1], f[2], logits

    def prior_features(self, x):
        """HrnetPrior.features: branches 0, 1, 2 without the head (HRNet.features(x, 3))."""
        f = self.body(x, 3)
        return f[0], f[1], f[2]


# ------------------------------------------------------------------------------------------------------------------
# ESPNetv2 (org.deepspg.model.espnet: ESPNetv2, EspBlocks; ../shared/priors/espnetv2/SOURCES.md)
# ------------------------------------------------------------------------------------------------------------------

def esp_conv(i, o, k, stride=1, dilation=1, groups=1, bias=False):
    return nn.Conv2d(i, o, k, stride, dilation * (k - 1) // 2, dilation, groups, bias)


def esp_bn(c):
    return nn.BatchNorm2d(c, eps=1e-5)


def avg_pool(x):
    """3x3, stride 2, pad 1, count_include_pad = true."""
    return F.avg_pool2d(x, 3, 2, 1, ceil_mode=False, count_include_pad=True)


def resize(x, h, w):
    return F.interpolate(x, size=(int(h), int(w)), mode="bilinear", align_corners=True)


def _adaptive_pool_axis(x, out, dim):
    """Adaptive average pooling along dim (2 or 3) without adaptive_avg_pool2d: output i averages
    [floor(i*n/out), ceil((i+1)*n/out)). One stride-1 average pool per distinct bin width, then one gather of each
    output's window (index_select, constant indices): exact bin means, linear cost, exportable."""
    n = int(x.shape[dim])
    bins = [((i * n) // out, -((-(i + 1) * n) // out)) for i in range(out)]
    pieces, offset, at = [], {}, 0
    for k in sorted(set(e - s for s, e in bins)):
        pieces.append(F.avg_pool2d(x, (k, 1) if dim == 2 else (1, k), stride=1))
        offset[k] = at
        at += n - k + 1
    cand = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim)
    index = torch.tensor([offset[e - s] + s for s, e in bins], dtype=torch.long, device=x.device)
    return torch.index_select(cand, dim, index)


def adaptive_pool(x, oh, ow):
    h, w = int(x.shape[2]), int(x.shape[3])
    if not exporting() or (h % oh == 0 and w % ow == 0):
        return F.adaptive_avg_pool2d(x, (oh, ow))
    # torch.onnx exports adaptive pools only when the sizes divide; the same function from exportable ops.
    return _adaptive_pool_axis(_adaptive_pool_axis(x, oh, 2), ow, 3)


class Cbr(nn.Module):
    """EspBlocks.Cbr: conv -> BN [-> PReLU], children conv, bn, act."""

    def __init__(self, i, o, k, stride, groups, act):
        super().__init__()
        self.conv = esp_conv(i, o, k, stride, 1, groups)
        self.bn = esp_bn(o)
        self.act = nn.PReLU(o) if act else None

    def forward(self, x):
        y = self.bn(self.conv(x))
        return y if self.act is None else self.act(y)


class Br(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bn, self.act = esp_bn(c), nn.PReLU(c)

    def forward(self, x):
        return self.act(self.bn(x))


class ConvOnly(nn.Module):
    """spp_dw.i: depthwise 3x3, given stride and dilation, no BN."""

    def __init__(self, c, stride, dilation):
        super().__init__()
        self.conv = esp_conv(c, c, 3, stride, dilation, c)

    def forward(self, x):
        return self.conv(x)


def dilations(r_lim):
    k = sorted(3 if v > r_lim else v for v in (3, 5, 7, 9))
    return [(v - 1) // 2 for v in k]


class Eesp(nn.Module):
    def __init__(self, i, o, stride, r_lim):
        super().__init__()
        if o % 4:
            raise ValueError("EESP: output channels %d not divisible by 4" % o)
        n = o // 4
        self.strided = stride == 2
        self.proj_1x1 = Cbr(i, n, 1, 1, 4, True)
        self.spp_dw = nn.ModuleList([ConvOnly(n, stride, d) for d in dilations(r_lim)])
        self.conv_1x1_exp = Cbr(o, o, 1, 1, 4, False)
        self.br_after_cat = Br(o)
        self.module_act = nn.PReLU(o)  # in the checkpoint also for the strided block, which never applies it

    def forward(self, x):
        p = self.proj_1x1(x)
        ys = [self.spp_dw[0](p)]
        for k in range(1, 4):
            ys.append(self.spp_dw[k](p) + ys[-1])
        y = self.conv_1x1_exp(self.br_after_cat(torch.cat(ys, 1)))
        return y if self.strided else self.module_act(y + x)


class DownSampler(nn.Module):
    def __init__(self, i, o, r_lim):
        super().__init__()
        self.eesp = Eesp(i, o - i, 2, r_lim)
        self.inp_reinf = nn.Sequential(Cbr(3, 3, 3, 1, 1, True), Cbr(3, o, 1, 1, 1, False))
        self.act = nn.PReLU(o)

    def forward(self, x, pyramid):
        """pyramid: the network input and its repeated avg pools, shared by the three down-samplers (as in Java)."""
        a = avg_pool(x)
        out = torch.cat([a, self.eesp(x)], 1)
        i = 0
        while True:
            i += 1
            if i == len(pyramid):
                pyramid.append(avg_pool(pyramid[i - 1]))
            if int(pyramid[i].shape[2]) == int(a.shape[2]):
                break
        return self.act(out + self.inp_reinf(pyramid[i]))


class Epp(nn.Module):
    """EfficientPyrPool: projection, five scale branches, BR, channel shuffle, merge."""
    SCALES = (2.0, 1.5, 1.0, 0.5, 0.1)

    def __init__(self, i, o, p, last):
        super().__init__()
        self.p = p
        self.stages = nn.ModuleList([esp_conv(p, p, 3, 1, 1, p) for _ in self.SCALES])
        self.projection_layer = nn.ModuleDict({"cbr": nn.Sequential(esp_conv(i, p, 1), esp_bn(p), nn.PReLU(p))})
        self.merge_layer = nn.ModuleDict({
            "0": nn.ModuleDict({"br": nn.Sequential(esp_bn(5 * p), nn.PReLU(5 * p))}),
            "2": nn.ModuleDict({"cbr": nn.Sequential(esp_conv(5 * p, p, 3, groups=p), esp_bn(p), nn.PReLU(p))}),
            "3": esp_conv(p, o, 1, bias=last)})
        self.br = None if last else nn.ModuleDict({"br": nn.Sequential(esp_bn(o), nn.PReLU(o))})

    def forward(self, x):
        y = self.projection_layer["cbr"](x)
        b, h, w = int(y.shape[0]), int(y.shape[2]), int(y.shape[3])
        parts = []
        for i, s in enumerate(self.SCALES):
            hs, ws = max(5, math.ceil(h * s)), max(5, math.ceil(w * s))
            if s > 1:
                parts.append(adaptive_pool(self.stages[i](resize(y, hs, ws)), h, w))
            elif s < 1:
                parts.append(resize(self.stages[i](adaptive_pool(y, hs, ws)), h, w))
            else:
                parts.append(self.stages[i](y))
        m = self.merge_layer["0"]["br"](torch.cat(parts, 1))
        m = m.view(b, len(self.SCALES), self.p, h, w).transpose(1, 2).reshape(b, len(self.SCALES) * self.p, h, w)
        o = self.merge_layer["3"](self.merge_layer["2"]["cbr"](m))
        return o if self.br is None else self.br["br"](o)


class Epw(nn.Module):
    """EfficientPWConv: grouped 3x3 CBR gated by sigmoid(1x1 conv of the global average)."""

    def __init__(self, i, o):
        super().__init__()
        self.wt_layer = nn.ModuleDict({"1": esp_conv(i, o, 1)})
        self.expansion_layer = nn.ModuleDict({"cbr": nn.Sequential(
            esp_conv(i, o, 3, groups=math.gcd(i, o)), esp_bn(o), nn.PReLU(o))})

    def forward(self, x):
        gate = torch.sigmoid(self.wt_layer["1"](F.adaptive_avg_pool2d(x, 1)))
        return self.expansion_layer["cbr"](x) * gate


class ESPNetv2(nn.Module):
    WIDTHS = {2.0: (32, 128, 256, 512), 0.5: (16, 32, 64, 128)}

    def __init__(self, scale, classes):
        super().__init__()
        if scale not in self.WIDTHS or classes < 2:
            raise ValueError("ESPNetv2: scale must be 2.0 or 0.5 and classes >= 2, got %s, %s" % (scale, classes))
        self.scale, self.classes = scale, classes
        w = self.WIDTHS[scale]
        base = nn.Module()
        base.level1 = Cbr(3, w[0], 3, 2, 1, True)
        base.level2_0 = DownSampler(w[0], w[1], 13)
        base.level3_0 = DownSampler(w[1], w[2], 11)
        base.level3 = nn.ModuleList([Eesp(w[2], w[2], 1, 9) for _ in range(3)])
        base.level4_0 = DownSampler(w[2], w[3], 9)
        base.level4 = nn.ModuleList([Eesp(w[3], w[3], 1, 7) for _ in range(7)])
        self.base_net = base
        p = min(classes // 2, 16)
        dec = (64, 48, 32)
        self.bu_dec_l1 = Epp(w[3], dec[0], p, False)
        self.bu_dec_l2 = Epp(dec[0], dec[1], p, False)
        self.bu_dec_l3 = Epp(dec[1], dec[2], p, False)
        self.bu_dec_l4 = Epp(dec[2], classes, p, True)
        self.merge_enc_dec_l2 = Epw(w[2], dec[0])
        self.merge_enc_dec_l3 = Epw(w[1], dec[1])
        self.merge_enc_dec_l4 = Epw(w[0], dec[2])
        self.bu_br_l2 = nn.Sequential(esp_bn(dec[0]), nn.PReLU(dec[0]))
        self.bu_br_l3 = nn.Sequential(esp_bn(dec[1]), nn.PReLU(dec[1]))
        self.bu_br_l4 = nn.Sequential(esp_bn(dec[2]), nn.PReLU(dec[2]))

    @staticmethod
    def config_of(sd):
        """ESPNetv2.configOf: scale from base_net.level1.conv.weight, classes from bu_dec_l4.merge_layer.3.bias."""
        w = sd["base_net.level1.conv.weight"].shape[0]
        if w not in (16, 32):
            raise ValueError("ESPNetv2 level1 width %d is not a supported scale" % w)
        return (2.0 if w == 32 else 0.5), int(sd["bu_dec_l4.merge_layer.3.bias"].shape[0])

    def forward(self, x, full_logits=False):
        """Already normalised input (H, W multiples of 16) -> (full-size logits or None, stride-2 logits, [l1..l4])."""
        if x.dim() != 4 or x.shape[1] != 3 or int(x.shape[2]) % 16 or int(x.shape[3]) % 16:
            raise ValueError("ESPNetv2 input must be [B, 3, H, W] with H, W multiples of 16, got %s" % list(x.shape))
        l1, l2, l3, l4 = self.encode(x)
        d = self.bu_dec_l1(l4)
        d = self.bu_dec_l2(self.bu_br_l2(up2(d) + self.merge_enc_dec_l2(l3)))
        d = self.bu_dec_l3(self.bu_br_l3(up2(d) + self.merge_enc_dec_l3(l2)))
        d = self.bu_dec_l4(self.bu_br_l4(up2(d) + self.merge_enc_dec_l4(l1)))
        full = resize(d, x.shape[2], x.shape[3]) if full_logits else None
        return full, d, [l1, l2, l3, l4]

    def encode(self, x):
        """The encoder's maps l1 .. l4 (ESPNetv2.encode)."""
        b = self.base_net
        l1 = b.level1(x)
        pyramid = [x]
        l2 = b.level2_0(l1, pyramid)
        l3 = b.level3_0(l2, pyramid)
        for m in b.level3:
            l3 = m(l3)
        l4 = b.level4_0(l3, pyramid)
        for m in b.level4:
            l4 = m(l4)
        return l1, l2, l3, l4

    def prior_outputs(self, x):
        """EspnetPrior.run: l2, l3, l4 and the stride-2 logits (forward(x, false))."""
        _, d, f = self.forward(x, False)
        return f[1], f[2], f[3], d

    def prior_features(self, x):
        """EspnetPrior.features: l2, l3, l4, the encoder alone (ESPNetv2.features)."""
        return self.encode(x)[1:]


def up2(d):
    return resize(d, 2 * int(d.shape[2]), 2 * int(d.shape[3]))


# ------------------------------------------------------------------------------------------------------------------
# building, loading, checking
# ------------------------------------------------------------------------------------------------------------------

def load_checkpoint(path):
    """torch.load of a (legacy or zip) state dict on CPU (the EdgeNets files are tagged cuda:0)."""
    sd = torch.load(path, map_location="cpu")
    if not isinstance(sd, dict):
        raise ValueError("%s: not a state dict" % path)
    return sd


def hrnet_state_dict(sd):
    """HRNet.officialLoadOptions: strip "model.", drop the wrapper's loss.* entries."""
    return {(k[6:] if k.startswith("model.") else k): v for k, v in sd.items() if not k.startswith("loss.")}


def build(a):
    """The network for --prior, frozen and in eval mode; returns (network, description dict)."""
    if a.prior == "hrnet-w48":
        cfg = HRNetConfig.from_json(a.hrnet_config) if a.hrnet_config else HRNetConfig.w48_ade20k()
        if a.classes:
            cfg.num_classes = a.classes
        net = HRNet(cfg)
        info = {"classes": cfg.num_classes, "config": a.hrnet_config or "w48_ade20k"}
        if a.weights:
            net.load_state_dict(hrnet_state_dict(load_checkpoint(a.weights)), strict=True)
    else:
        sd = load_checkpoint(a.weights) if a.weights else None
        scale, classes = ESPNetv2.config_of(sd) if sd is not None else (a.scale or 0.5, a.classes or 20)
        if (a.scale and a.scale != scale) or (a.classes and a.classes != classes):
            raise SystemExit("--scale/--classes %s/%s contradict the weights file (s=%s, %d classes)"
                             % (a.scale, a.classes, scale, classes))
        net = ESPNetv2(scale, classes)
        if sd is not None:
            net.load_state_dict(sd, strict=True)
        info = {"scale": scale, "classes": classes}
    info["weights"] = a.weights
    net.eval().requires_grad_(False)
    info["params"] = sum(p.numel() for p in net.parameters())
    return net, info


def read_f32(path, *shape):
    with open(path, "rb") as f:
        data = f.read()
    return torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(*shape).clone()


def maxdiff(x, y):
    if tuple(x.shape) != tuple(y.shape):
        raise ValueError("shape %s vs %s" % (list(x.shape), list(y.shape)))
    return float((x.double() - y.double()).abs().max())


def read_png_indices(path):
    """The class ids of an 8-bit grey or palette PNG, not interlaced (the golden argmax maps), as [H][W] bytes."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(path + ": not a PNG")
    p, idat, w, h = 8, b"", 0, 0
    while p < len(d):
        n, t = struct.unpack(">I4s", d[p:p + 8])
        body = d[p + 8:p + 8 + n]
        if t == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (0, 3) or interlace:
                raise ValueError(path + ": only 8-bit grey/palette, non-interlaced PNGs are read here")
        elif t == b"IDAT":
            idat += body
        p += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w)
    for y in range(h):
        ft, line = raw[y * (w + 1)], bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            left = line[x - 1] if x else 0
            up, ul = prev[x], (prev[x - 1] if x else 0)
            if ft == 1:
                line[x] = (line[x] + left) & 255
            elif ft == 2:
                line[x] = (line[x] + up) & 255
            elif ft == 3:
                line[x] = (line[x] + ((left + up) >> 1)) & 255
            elif ft == 4:
                pa, pb, pc = abs(up - ul), abs(left - ul), abs(left + up - 2 * ul)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        rows.append(line)
        prev = line
    return rows


def check_hrnet(a, w48):
    """HRNetFixtureTest (tiny fixture) + the W48 names and shapes (HRNetStructureTest)."""
    fx = os.path.join(a.shared, "fixtures", "hrnet")
    r = {"fixture": fx, "tolerance": TOL}
    cfg = HRNetConfig.from_json(os.path.join(fx, "config.json"))
    worst = 0.0
    outs = {}
    for file in ("tiny_legacy.pth", "tiny_legacy_cuda.pth", "tiny_zip.pth"):
        net = HRNet(cfg).eval().requires_grad_(False)
        sd = load_checkpoint(os.path.join(fx, file))
        dropped = sorted(k for k in sd if k.startswith("loss."))
        net.load_state_dict(hrnet_state_dict(sd), strict=True)
        prior = Prior(net).eval()
        with torch.inference_mode():
            raw = read_f32(os.path.join(fx, "input_raw.bin"), 1, 3, 64, 96)
            norm = read_f32(os.path.join(fx, "input_norm.bin"), 1, 3, 64, 96)
            c = {"dropped_keys": dropped, "normalise_vs_input_norm": maxdiff(prior.norm(raw), norm)}
            logits, feats = net(norm)
            shapes = [(1, 8, 16, 24), (1, 16, 8, 12), (1, 32, 4, 6), (1, 64, 2, 3)]
            for i in range(4):
                c["feat%d" % i] = maxdiff(feats[i], read_f32(os.path.join(fx, "feat%d.bin" % i), *shapes[i]))
            c["logits_q"] = maxdiff(logits, read_f32(os.path.join(fx, "logits_q.bin"), 1, 7, 16, 24))
            f0, f1, f2, lq = prior(raw)  # the prior workload: normalise + network, from RGB in [0, 1]
            c["prior_run_from_raw_logits_q"] = maxdiff(lq, read_f32(os.path.join(fx, "logits_q.bin"), 1, 7, 16, 24))
            c["prior_run_from_raw_feat0"] = maxdiff(f0, read_f32(os.path.join(fx, "feat0.bin"), *shapes[0]))
            raw2 = read_f32(os.path.join(fx, "input2_raw.bin"), 2, 3, 38, 54)
            f0, f1, f2, lq = prior(raw2)
            _, feats2 = net(prior.norm(raw2))
            shapes2 = [(2, 8, 10, 14), (2, 16, 5, 7), (2, 32, 3, 4), (2, 64, 2, 2)]
            for i in range(4):
                c["input2_feat%d" % i] = maxdiff(feats2[i], read_f32(os.path.join(fx, "input2_feat%d.bin" % i),
                                                                       *shapes2[i]))
            c["input2_logits_q"] = maxdiff(lq, read_f32(os.path.join(fx, "input2_logits_q.bin"), 2, 7, 10, 14))
            outs[file] = lq
        worst = max([worst] + [v for k, v in c.items() if isinstance(v, float)])
        r[file] = c
    r["checkpoints_identical"] = all(torch.equal(outs["tiny_legacy.pth"], v) for v in outs.values())
    # W48: state-dict names and shapes against the official list, and the parameter count.
    want = []
    with open(os.path.join(fx, "w48_ade20k_keys.txt")) as f:
        for line in f:
            name, shape = line.rstrip("\n").split("\t")
            want.append((name, json.loads(shape)))
    w48 = w48 if w48 is not None else HRNet(HRNetConfig.w48_ade20k())
    got = [(k, list(v.shape)) for k, v in w48.state_dict().items()]
    r["w48_state_dict_matches_keys_txt"] = got == want
    r["w48_state_dict_entries"] = len(got)
    r["w48_params"] = sum(p.numel() for p in w48.parameters())
    r["max_abs_diff"] = worst
    r["pass"] = worst <= TOL and r["checkpoints_identical"] and r["w48_state_dict_matches_keys_txt"] \
        and r["w48_params"] == 65953830
    return r


def check_espnet(a):
    """ESPNetv2Test: the upstream goldens of s = 2.0 city and pascal, with the real weights; s = 0.5 loads strictly."""
    pd = os.path.join(a.shared, "priors", "espnetv2")
    g = os.path.join(pd, "golden")
    r = {"golden": g, "tolerance": TOL}
    worst = 0.0
    ok = True
    rows = list(range(0, 128, 8)) + [127]
    cols = list(range(0, 256, 8)) + [255]
    for file, stem, classes, params in (("espnetv2_s_2.0_city_1024x512.pth", "espnetv2_s2.0_city", 20, 789242),
                                        ("espnetv2_s_2.0_pascal_384x384.pth", "espnetv2_s2.0_pascal", 21, 789253)):
        sd = load_checkpoint(os.path.join(pd, file))
        net = ESPNetv2(*ESPNetv2.config_of(sd))
        net.load_state_dict(sd, strict=True)
        net.eval().requires_grad_(False)
        c = {"params": sum(p.numel() for p in net.parameters())}
        ok &= c["params"] == params
        with torch.inference_mode():
            x = read_f32(os.path.join(g, "input_random_1x3x256x256.bin"), 1, 3, 256, 256)
            full, d, f = net(x, True)
            c["random_logits_s2"] = maxdiff(d, read_f32(os.path.join(g, stem + ".random.logits_s2.bin"),
                                                        1, classes, 128, 128))
            c["random_enc_l4"] = maxdiff(f[3], read_f32(os.path.join(g, stem + ".random.enc_l4.bin"), 1, 512, 16, 16))
            crops = torch.stack([full[:, :, :8, :8], full[:, :, 248:, 248:]])
            c["random_final_corner_crops"] = maxdiff(crops, read_f32(
                os.path.join(g, stem + ".random.final_logits_corner_crops.bin"), 2, 1, classes, 8, 8))
            # the ONNX-export formulation of the pyramid pools, run in eager mode
            _force_export_path[0] = True
            try:
                _, d2, f2 = net(x, False)
            finally:
                _force_export_path[0] = False
            c["export_path_vs_eager_logits_s2"] = maxdiff(d2, d)
            x = read_f32(os.path.join(g, "input_photo_aitzgorri_1x3x256x512.bin"), 1, 3, 256, 512)
            full, d, f = net(x, True)
            sub = d[:, :, rows][:, :, :, cols]
            c["photo_logits_s2_sub8"] = maxdiff(sub, read_f32(os.path.join(g, stem + ".photo.logits_s2_sub8.bin"),
                                                              1, classes, 17, 33))
            want = torch.tensor([list(row) for row in read_png_indices(
                os.path.join(g, stem + ".photo.argmax_512x256.png"))], dtype=torch.long)
            lg = full[0]
            best = lg.argmax(0)
            diff = best != want
            margin = lg.gather(0, best[None])[0] - lg.gather(0, want[None])[0]
            c["photo_argmax_pixels"] = int(want.numel())
            c["photo_argmax_agree"] = int((~diff).sum())
            c["photo_argmax_differ_ties"] = int((diff & (margin < TIE)).sum())
            c["photo_argmax_differ_others"] = int((diff & (margin >= TIE)).sum())
        worst = max([worst] + [c[k] for k in ("random_logits_s2", "random_enc_l4", "random_final_corner_crops",
                                              "photo_logits_s2_sub8")])
        ok &= c["photo_argmax_differ_others"] == 0 and c["export_path_vs_eager_logits_s2"] <= TOL
        r[stem] = c
    small = os.path.join(pd, "espnetv2_s_0.5_city_1024x512.pth")
    sd = load_checkpoint(small)
    net = ESPNetv2(*ESPNetv2.config_of(sd))
    net.load_state_dict(sd, strict=True)
    net.eval().requires_grad_(False)
    with torch.inference_mode():
        full, d, f = net(read_f32(os.path.join(g, "input_photo_aitzgorri_1x3x256x512.bin"), 1, 3, 256, 512), True)
    r["espnetv2_s0.5_city"] = {"params": sum(p.numel() for p in net.parameters()), "strict_load": True,
                               "logits_finite": bool(torch.isfinite(full).all()), "logits_shape": list(full.shape)}
    ok &= r["espnetv2_s0.5_city"]["params"] == 80342 and r["espnetv2_s0.5_city"]["logits_finite"]
    r["max_abs_diff"] = worst
    r["pass"] = bool(ok and worst <= TOL)
    return r


def main():
    ap = argparse.ArgumentParser()
    add_common_args(ap, here)
    ap.add_argument("--prior", choices=["hrnet-w48", "espnetv2"], default="hrnet-w48")
    ap.add_argument("--weights", default=None, help="a .pth state dict (ESPNetv2: scale and classes read from it)")
    ap.add_argument("--scale", type=float, choices=[0.5, 2.0], default=None, help="ESPNetv2 width (default 0.5)")
    ap.add_argument("--classes", type=int, default=None, help="ESPNetv2: 20 (default) or 21; HRNet: 150 (default)")
    ap.add_argument("--hrnet-config", default=None, help="an HRNet config.json instead of W48 (e.g. the fixture's)")
    ap.add_argument("--check", action="store_true", help="verify the translation against the goldens")
    ap.add_argument("--features-only", action="store_true",
                    help="ImagePrior#features: the three SEM maps alone (no HRNet head, no ESPNetv2 decoder)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    mult = 16 if a.prior == "espnetv2" else 32
    if a.height % mult or a.width % mult:
        raise SystemExit("%s: --height and --width must be multiples of %d" % (a.prior, mult))

    net, info = build(a)
    prior = Prior(net, a.features_only).eval()
    B, H, W = a.batch, a.height, a.width
    x = torch.rand(B, 3, H, W)
    times = []
    with torch.inference_mode():
        outs = prior(x)  # the first warm-up run (one untimed run even with --warmup 0: the output shapes)
        for _ in range(a.warmup - 1):
            prior(x)
        for _ in range(a.iters):
            t = time.perf_counter()
            prior(x)
            times.append((time.perf_counter() - t) * 1e3)
    if a.onnx:
        with torch.no_grad():
            torch.onnx.export(prior, (x,), a.onnx, opset_version=14, input_names=["input"],
                              output_names=["f0", "f1", "f2"] + ([] if a.features_only else ["logits"]))
    if a.prior == "hrnet-w48":
        row = "prior-hrnet-custom" if a.hrnet_config else "prior-hrnet-w48"
    else:
        row = "prior-espnetv2-s%s" % info["scale"]
    if a.features_only:
        row += "-features"
    res = {"peer": "pytorch-eager", "row": row, "script": script(a, info), "torch": torch.__version__,
           "threads": a.threads, "prior": a.prior, **info, "shape": [B, 3, H, W],
           "outputs": {n: list(o.shape) for n, o in zip(("f0", "f1", "f2", "logits"), outs)},
           "ms_median": statistics.median(times) if times else None,
           "ms_mean": statistics.mean(times) if times else None, "ms_min": min(times) if times else None,
           "iters": a.iters, "macs": count_macs(prior, x), "onnx": a.onnx}
    if a.check:
        if a.prior == "hrnet-w48":
            res["check"] = check_hrnet(a, net if not a.hrnet_config and net.cfg.num_classes == 150 else None)
        else:
            res["check"] = check_espnet(a)
            with torch.inference_mode():  # the export formulation of the pyramid pools at the benchmark size
                _force_export_path[0] = True
                try:
                    ex = prior(x)
                finally:
                    _force_export_path[0] = False
            res["check"]["export_path_vs_eager_at_benchmark_size"] = max(maxdiff(u, v) for u, v in zip(ex, outs))
    print(json.dumps(res))


def script(a, info):
    s = "prior_peers.py --prior %s" % a.prior
    if a.hrnet_config:
        s += " --hrnet-config %s --classes %d" % (os.path.basename(a.hrnet_config), info["classes"])
    if a.prior == "espnetv2":
        s += " --scale %s --classes %d" % (info["scale"], info["classes"])
    if a.features_only:
        s += " --features-only"
    return s + " --threads %d --height %d --width %d --iters %d" % (a.threads, a.height, a.width, a.iters)


if __name__ == "__main__":
    main()
