/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.espnet;

import static org.bytedeco.pytorch.global.torch.adaptive_avg_pool2d;
import static org.bytedeco.pytorch.global.torch.avg_pool2d;
import static org.bytedeco.pytorch.global.torch.batch_norm;
import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.conv2d;
import static org.bytedeco.pytorch.global.torch.prelu;
import static org.bytedeco.pytorch.global.torch.sigmoid;
import static org.bytedeco.pytorch.global.torch.upsample_bilinear2d;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.model.io.CheckpointFormatException;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.DType;
import org.deepspg.model.io.TensorData;
import org.deepspg.ops.Backends;

/**
 * ESPNetv2 semantic segmentation (Mehta et al., CVPR 2019) for the pretrained EdgeNets weights, written from the
 * architecture description (EESP blocks, strided EESP with input reinforcement, PReLU, the efficient-pyramid-pooling
 * decoder) as a functional network over the state dict: the weights are read by the project's safe checkpoint readers
 * (no code execution; the files are legacy {@code torch.save} archives) and the forward pass is stock libtorch ops, so
 * gradients flow through it to the input (for a semantic loss) while the weights stay frozen.
 *
 * <p>Input: {@code [B, 3, H, W]} RGB normalised with the ImageNet mean and std ({@link #normalize}), H and W multiples
 * of 16. Output ({@link Output}): the four encoder maps at strides 2, 4, 8, 16 (widths 32/128/256/512 for s = 2.0,
 * 16/32/64/128 for s = 0.5), the class logits at stride 2 and at the input size (bilinear, align_corners). The width
 * multiplier s and the class count (20 Cityscapes, 21 PASCAL VOC) are read from the weights.
 *
 * <p>Not thread-safe for {@link #close()}; {@link #forward} may run from several threads (read-only weights).
 */
public final class EspNetV2 implements AutoCloseable {
  /** ImageNet mean used by the upstream preprocessing. */
  public static final double[] MEAN = {0.485, 0.456, 0.406};
  /** ImageNet standard deviation used by the upstream preprocessing. */
  public static final double[] STD = {0.229, 0.224, 0.225};
  private static final double BN_EPS = 1e-5;
  private static final double[] EPP_SCALES = {2.0, 1.5, 1.0, 0.5, 0.1};

  private final Map<String, Tensor> w;
  private final int classes;
  private final int level3Blocks;
  private final int level4Blocks;
  private final int[] widths;

  /**
   * The prior's outputs.
   *
   * @param features encoder maps l1..l4 (strides 2, 4, 8, 16)
   * @param logitsStride2 class logits of the last learned layer, {@code [B, classes, H/2, W/2]}
   * @param logits class logits at the input size
   */
  public record Output(List<Tensor> features, Tensor logitsStride2, Tensor logits) {}

  private EspNetV2(Map<String, Tensor> w) throws CheckpointFormatException {
    this.w = w;
    Tensor head = require("bu_dec_l4.merge_layer.3.bias");
    this.classes = (int) head.size(0);
    this.level3Blocks = count("base_net.level3.", ".proj_1x1.conv.weight");
    this.level4Blocks = count("base_net.level4.", ".proj_1x1.conv.weight");
    this.widths = new int[] {(int) require("base_net.level1.conv.weight").size(0),
        (int) require("base_net.level2_0.act.weight").size(0), (int) require("base_net.level3_0.act.weight").size(0),
        (int) require("base_net.level4_0.act.weight").size(0)};
    if (level3Blocks < 1 || level4Blocks < 1) {
      throw new CheckpointFormatException("ESPNetv2 weights: no level3/level4 EESP blocks found");
    }
  }

  /**
   * Loads pretrained EdgeNets segmentation weights ({@code espnetv2_s_2.0_city_1024x512.pth} etc.).
   *
   * @param file the weights file
   * @return the frozen network
   * @throws IOException when the file cannot be read or is not ESPNetv2 segmentation weights
   */
  public static EspNetV2 load(Path file) throws IOException {
    Backends.init();
    Map<String, Tensor> w = new LinkedHashMap<>();
    try (PointerScope s = new PointerScope()) {
      for (TensorData t : Checkpoints.read(file)) {
        if (t.dtype() != DType.FLOAT32) continue; // num_batches_tracked (int64) is not used in eval mode
        Tensor x = t.toTensor();
        x.retainReference();
        w.put(t.name(), x);
      }
    }
    try {
      return new EspNetV2(w);
    } catch (CheckpointFormatException e) {
      w.values().forEach(Tensor::close);
      throw new CheckpointFormatException(file + ": not ESPNetv2 segmentation weights (" + e.getMessage() + ")", e);
    }
  }

  /** @return number of classes of the segmentation head */
  public int classes() {
    return classes;
  }

  /** @return channels of the encoder maps l1..l4 */
  public int[] featureWidths() {
    return widths.clone();
  }

  /** @return the width multiplier s (2.0 or 0.5 for the published weights), from the level-4 width (256·s) */
  public double scale() {
    return widths[3] / 256.0;
  }

  /** @return trainable parameters (conv weights, BN γ/β, PReLU slopes, the head's bias; not the BN statistics) */
  public long parameterCount() {
    long n = 0;
    for (Map.Entry<String, Tensor> e : w.entrySet()) {
      if (!e.getKey().endsWith("running_mean") && !e.getKey().endsWith("running_var")) n += e.getValue().numel();
    }
    return n;
  }

  /**
   * Normalises RGB in [0, 1] like the upstream preprocessing.
   *
   * @param rgb01 {@code [B, 3, H, W]}
   * @return {@code (x - mean) / std} per channel
   */
  public static Tensor normalize(Tensor rgb01) {
    Tensor mean = Tensor.create(MEAN[0], MEAN[1], MEAN[2]).to(rgb01.scalar_type()).reshape(1, 3, 1, 1);
    Tensor std = Tensor.create(STD[0], STD[1], STD[2]).to(rgb01.scalar_type()).reshape(1, 3, 1, 1);
    return rgb01.sub(mean).div(std);
  }

  /**
   * Runs the network.
   *
   * @param x normalised input {@code [B, 3, H, W]}, H and W multiples of 16
   * @return encoder maps and logits
   */
  public Output forward(Tensor x) {
    if (x.dim() != 4 || x.size(1) != 3 || x.size(2) % 16 != 0 || x.size(3) % 16 != 0) {
      throw new IllegalArgumentException("ESPNetv2 input must be [B, 3, H, W] with H and W multiples of 16, got "
          + Arrays.toString(x.shape()));
    }
    Tensor l1 = cbr(x, "base_net.level1", 2, 1);
    Tensor l2 = downSampler(l1, x, "base_net.level2_0", 13);
    Tensor l3 = downSampler(l2, x, "base_net.level3_0", 11);
    for (int i = 0; i < level3Blocks; i++) l3 = eesp(l3, "base_net.level3." + i, 1, 9);
    Tensor l4 = downSampler(l3, x, "base_net.level4_0", 9);
    for (int i = 0; i < level4Blocks; i++) l4 = eesp(l4, "base_net.level4." + i, 1, 7);

    Tensor d = epp(l4, "bu_dec_l1", true);
    d = br(up2(d).add(epw(l3, "merge_enc_dec_l2")), "bu_br_l2.0", "bu_br_l2.1.weight");
    d = epp(d, "bu_dec_l2", true);
    d = br(up2(d).add(epw(l2, "merge_enc_dec_l3")), "bu_br_l3.0", "bu_br_l3.1.weight");
    d = epp(d, "bu_dec_l3", true);
    d = br(up2(d).add(epw(l1, "merge_enc_dec_l4")), "bu_br_l4.0", "bu_br_l4.1.weight");
    d = epp(d, "bu_dec_l4", false);
    Tensor full = upsample_bilinear2d(d, new long[] {x.size(2), x.size(3)}, true);
    return new Output(List.of(l1, l2, l3, l4), d, full);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Blocks

  /** EESP: grouped 1×1 projection, four dilated depthwise branches fused hierarchically, BR, grouped 1×1 expansion. */
  private Tensor eesp(Tensor x, String p, int stride, int rLim) {
    Tensor o1 = cbr(x, p + ".proj_1x1", 1, 1);
    int[] k = {3, 5, 7, 9};
    for (int i = 0; i < 4; i++) if (k[i] > rLim) k[i] = 3;
    Arrays.sort(k);
    TensorVector parts = new TensorVector();
    Tensor prev = null;
    for (int i = 0; i < 4; i++) {
      int d = (k[i] - 1) / 2;
      Tensor b = conv(o1, p + ".spp_dw." + i + ".conv.weight", null, stride, d, d);
      prev = prev == null ? b : b.add(prev);
      parts.push_back(prev);
    }
    Tensor y = br(cat(parts, 1), p + ".br_after_cat.bn", p + ".br_after_cat.act.weight");
    y = bn(conv(y, p + ".conv_1x1_exp.conv.weight", null, 1, 0, 1), p + ".conv_1x1_exp.bn");
    if (stride == 2) return y;
    return prelu(y.add(x), w.get(p + ".module_act.weight"));
  }

  /** Strided EESP beside an average pool, plus the input image pooled to the same size (input reinforcement). */
  private Tensor downSampler(Tensor x, Tensor input, String p, int rLim) {
    Tensor a = avgPool(x);
    Tensor e = eesp(x, p + ".eesp", 2, rLim);
    Tensor out = cat(new TensorVector(a, e), 1);
    Tensor r = avgPool(input);
    while (r.size(2) > a.size(2)) r = avgPool(r);
    r = cbr(r, p + ".inp_reinf.0", 1, 1);
    r = bn(conv(r, p + ".inp_reinf.1.conv.weight", null, 1, 0, 1), p + ".inp_reinf.1.bn");
    return prelu(out.add(r), w.get(p + ".act.weight"));
  }

  /** Efficient pyramid pooling: 1×1 projection, five scales of depthwise 3×3, BR, channel shuffle, 3×3, 1×1. */
  private Tensor epp(Tensor x, String p, boolean finalBr) {
    Tensor proj = cbrSeq(x, p + ".projection_layer.cbr", 0);
    long h = proj.size(2), wd = proj.size(3);
    TensorVector branches = new TensorVector();
    for (int i = 0; i < EPP_SCALES.length; i++) {
      double s = EPP_SCALES[i];
      long hs = Math.max(5, (long) Math.ceil(h * s)), ws = Math.max(5, (long) Math.ceil(wd * s));
      String key = p + ".stages." + i + ".weight";
      Tensor t;
      if (s > 1) {
        t = upsample_bilinear2d(proj, new long[] {hs, ws}, true);
        t = adaptive_avg_pool2d(conv(t, key, null, 1, 1, 1), h, wd);
      } else if (s == 1) {
        t = conv(proj, key, null, 1, 1, 1);
      } else {
        t = conv(adaptive_avg_pool2d(proj, hs, ws), key, null, 1, 1, 1);
        t = upsample_bilinear2d(t, new long[] {h, wd}, true);
      }
      branches.push_back(t);
    }
    Tensor m = br(cat(branches, 1), p + ".merge_layer.0.br.0", p + ".merge_layer.0.br.1.weight");
    long pc = proj.size(1);
    m = m.view(m.size(0), EPP_SCALES.length, pc, h, wd).transpose(1, 2).reshape(m.size(0), EPP_SCALES.length * pc,
        h, wd); // channel shuffle: new j*5+g <- old g*P+j
    m = cbrSeq(m, p + ".merge_layer.2.cbr", 1);
    m = conv(m, p + ".merge_layer.3.weight", p + ".merge_layer.3.bias", 1, 0, 1);
    return finalBr ? br(m, p + ".br.br.0", p + ".br.br.1.weight") : m;
  }

  /** Efficient point-wise merge: a 3×3 grouped CBR gated per channel by a sigmoid of the global average. */
  private Tensor epw(Tensor x, String p) {
    Tensor gate = sigmoid(conv(adaptive_avg_pool2d(x, 1, 1), p + ".wt_layer.1.weight", null, 1, 0, 1));
    return cbrSeq(x, p + ".expansion_layer.cbr", 1).mul(gate);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Layers (groups follow from the weight shapes)

  /** Conv (key {@code P.conv.weight}), BN ({@code P.bn}), PReLU ({@code P.act.weight}). */
  private Tensor cbr(Tensor x, String p, int stride, int dilation) {
    Tensor cw = w.get(p + ".conv.weight");
    int pad = (int) (cw.size(2) - 1) / 2 * dilation;
    return prelu(bn(conv(x, p + ".conv.weight", null, stride, pad, dilation), p + ".bn"), w.get(p + ".act.weight"));
  }

  /** The decoder's CBR, a Sequential: conv {@code P.0}, BN {@code P.1}, PReLU {@code P.2}. */
  private Tensor cbrSeq(Tensor x, String p, int pad) {
    return prelu(bn(conv(x, p + ".0.weight", null, 1, pad, 1), p + ".1"), w.get(p + ".2.weight"));
  }

  /** BN then PReLU. */
  private Tensor br(Tensor x, String bnPrefix, String preluKey) {
    return prelu(bn(x, bnPrefix), w.get(preluKey));
  }

  private Tensor conv(Tensor x, String weightKey, String biasKey, int stride, int pad, int dilation) {
    Tensor cw = w.get(weightKey);
    if (cw == null) throw new IllegalStateException("ESPNetv2: missing weight " + weightKey);
    long groups = x.size(1) / cw.size(1);
    Tensor b = biasKey == null ? null : w.get(biasKey);
    return conv2d(x, cw, b == null ? new TensorOptional() : new TensorOptional(b), new long[] {stride, stride},
        new long[] {pad, pad}, new long[] {dilation, dilation}, groups);
  }

  private Tensor bn(Tensor x, String p) {
    return batch_norm(x, new TensorOptional(w.get(p + ".weight")), new TensorOptional(w.get(p + ".bias")),
        new TensorOptional(w.get(p + ".running_mean")), new TensorOptional(w.get(p + ".running_var")), false, 0.1,
        BN_EPS, false);
  }

  /** 3×3 average pool, stride 2, padding 1, dividing by 9 everywhere (count_include_pad). */
  private static Tensor avgPool(Tensor x) {
    return avg_pool2d(x, new long[] {3, 3}, new long[] {2, 2}, new long[] {1, 1}, false, true, new LongOptional());
  }

  private static Tensor up2(Tensor x) {
    return upsample_bilinear2d(x, new long[] {2 * x.size(2), 2 * x.size(3)}, true);
  }

  private Tensor require(String key) throws CheckpointFormatException {
    Tensor t = w.get(key);
    if (t == null) throw new CheckpointFormatException("missing " + key);
    return t;
  }

  private int count(String prefix, String suffix) {
    int n = 0;
    while (w.containsKey(prefix + n + suffix)) n++;
    return n;
  }

  /** Releases the weights. */
  @Override
  public void close() {
    for (Tensor t : w.values()) t.close();
    w.clear();
  }

  /** @return weight names (for tests and messages) */
  List<String> names() {
    return new ArrayList<>(w.keySet());
  }
}
