#!/usr/bin/env python3
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
"""Reference outputs of the bundled model on samples/, computed WITHOUT this project's Java or native code.

The user-path golden tests (java/src/test/java/org/deepspg/cli/UserPathGoldenTest.java) compare what
`deepspg enhance` / `deepspg demo` / the Java API write against these files. They come from an independent path:
the spec's PyTorch reference program (deepspg_ref.py, beside the checkout in ../shared/reference; Debian's
python3-torch runs it), the bundled weights read with torch.load, images decoded by Pillow, and the inference
protocol of ARCHITECTURE.md §6 written out here: reflect-pad bottom/right to a multiple of 32, network, crop,
clamp to [0, 1], round to 8 bits.

The default bundled model is the Baseline variant (no SEMs): the reference DeepSPG class always has SEMs, so its
forward is rerun below with the SEM steps left out (every other module is the reference's own).

A model with SEMs (the bundled s-sem) takes --features DIR: the image prior's feature maps of each sample, written by
scripts/DumpPriorFeatures.java. The prior (ESPNetv2) has no PyTorch implementation here; its Java port is pinned to
the upstream one by the parity tests on ../shared/priors/espnetv2/golden, so only its maps come from Java. The
reference builds its SEMs for the maps' widths and checks its own light-up X_r against the one the maps were computed
from (sem.prior_input=retinex).

A photo above the 0.5 MP at which `deepspg enhance` starts to tile takes --tiled: the sample picos-de-europa.jpg
reflected at its bottom and right edges (numpy's 'reflect', the edge row and column not repeated) to 768x704, run
whole here; the CLI runs it in tiles with the attention context of the whole image (its long side is the context's
768), which must reproduce the whole image (TiledUserPathGoldenTest).

  python3 scripts/make_user_path_golden.py [--ref ../shared/reference] [--out java/src/test/resources/org/deepspg/golden]
  python3 scripts/make_user_path_golden.py --weights W.pth --features DIR --out DIR [--samples DIR]
  python3 scripts/make_user_path_golden.py --tiled [--out java/src/test/resources/org/deepspg/golden/user-path-tiled]
"""
import argparse, json, os, sys, zipfile
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

def baseline_forward(m, I):
    """deepspg_ref.DeepSPG.forward with the SEM calls removed (variant 'baseline', spec §1.6)."""
    Fl, M = m.est(I)
    Xr = I * M + I
    f = m.embed(Xr); skips = []; ills = []
    for l in range(2):
        for blk in m.enc[l]: f = blk(f, Fl)
        skips.append(f); ills.append(Fl)
        f = m.down[l](f); Fl = m.down_i[l](Fl)
    for blk in m.bott: f = blk(f, Fl)
    for i, l in enumerate((1, 0)):
        f = m.fuse[i](torch.cat([m.up[i](f), skips[l]], 1))
        for blk in m.dec[i]: f = blk(f, ills[l])
    return m.mapping(f) + Xr

def load_f32(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype='<f4').reshape(shape))

def sem_forward(m, xp, name, feats):
    """deepspg_ref.DeepSPG.forward with the prior maps of sample `name` from `feats`, after checking X_r."""
    with open(os.path.join(feats, name + '.json')) as f:
        shapes = json.load(f)
    s = [load_f32(os.path.join(feats, '%s.s%d.f32' % (name, l)), shapes['s%d' % l]) for l in range(3)]
    xr_java = load_f32(os.path.join(feats, name + '.xr.f32'), shapes['xr'])
    _, M = m.est(xp)
    xr = xp * M + xp
    d = (xr - xr_java).abs().max().item()
    assert d < 1e-4, '%s: light-up X_r differs from the one the prior saw by %g' % (name, d)
    return m(xp, *s), d

def model_meta(path):
    """The deepspg.properties entry of a weights file (the network's configuration)."""
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.endswith('deepspg.properties'):
                return dict(l.split('=', 1) for l in z.read(n).decode().splitlines() if '=' in l and not l.startswith('#'))
    return {}

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument('--ref', default=os.path.join(root, '..', 'shared', 'reference'))
    ap.add_argument('--weights', default=os.path.join(root, 'java/src/main/resources/org/deepspg/models/deepspg-s-baseline.pth'))
    ap.add_argument('--samples', default=os.path.join(root, 'samples'))
    ap.add_argument('--out', default=None, help='default: golden/user-path, or golden/user-path-tiled with --tiled')
    ap.add_argument('--tiled', action='store_true', help='only the 768x704 reflected picos-de-europa (see above)')
    ap.add_argument('--features', default=None, help='prior maps from DumpPriorFeatures.java (models with SEMs)')
    a = ap.parse_args()
    if a.out is None:
        a.out = os.path.join(root, 'java/src/test/resources/org/deepspg/golden', 'user-path-tiled' if a.tiled else 'user-path')
    sys.path.insert(0, a.ref)
    import deepspg_ref as R
    torch.set_num_threads(2)
    if a.features:
        meta = model_meta(a.weights)
        widths = [int(c) for c in meta['sem.channels'].split(',')]
        assert meta.get('sem.prior_input') == 'retinex', meta
        R.DeepSPG.HR = tuple(widths) + (2 * widths[-1],)   # the SEMs' 1x1 adapters take the prior's widths
    m = R.DeepSPG()
    sd = torch.load(a.weights, map_location='cpu')
    res = m.load_state_dict(sd, strict=a.features is not None)
    if not a.features:
        assert not res.unexpected_keys, res.unexpected_keys
        assert all('_sem' in k for k in res.missing_keys), res.missing_keys   # only the SEMs, which Baseline lacks
    m.eval()
    os.makedirs(a.out, exist_ok=True)
    names = [n for n in sorted(os.listdir(a.samples)) if n.lower().endswith(('.jpg', '.jpeg', '.png'))]
    if a.tiled:
        names = ['picos-de-europa.jpg']
    for name in names:
        if a.features and not os.path.exists(os.path.join(a.features, os.path.splitext(name)[0] + '.json')): continue
        img = np.asarray(Image.open(os.path.join(a.samples, name)).convert('RGB'), dtype=np.float32) / 255.0
        if a.tiled:
            assert img.shape == (480, 640, 3), img.shape
            img = np.pad(img, ((0, 704 - 480), (0, 768 - 640), (0, 0)), mode='reflect')
            name = 'picos-de-europa-768x704.png'
        x = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()
        h, w = x.shape[2:]
        ph, pw = (-h) % 32, (-w) % 32
        xp = F.pad(x, (0, pw, 0, ph), mode='reflect')
        with torch.no_grad():
            if a.features:
                y, d = sem_forward(m, xp, os.path.splitext(name)[0], a.features)
                print(name, 'max |X_r(reference) - X_r(Java)|', d)
            else:
                y = baseline_forward(m, xp)
            y = y[:, :, :h, :w].clamp(0, 1)
        out = (y[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
        dst = os.path.join(a.out, os.path.splitext(name)[0] + '.png')
        Image.fromarray(out).save(dst, optimize=True)
        print(dst, out.shape, 'mean', out.mean())

if __name__ == '__main__':
    main()
