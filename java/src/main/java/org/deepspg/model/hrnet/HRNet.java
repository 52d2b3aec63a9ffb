/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import static org.bytedeco.pytorch.global.torch.softmax;
import static org.bytedeco.pytorch.global.torch.upsample_bilinear2d;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.LoadOptions;
import org.deepspg.model.io.LoadReport;
import org.deepspg.model.io.ModuleLoader;
import org.deepspg.model.io.StateDict;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.model.prior.PriorWeights;

/**
 * HRNetV2 semantic segmentation network ("seg_hrnet" of HRNet-Semantic-Segmentation, spec §5.1) as a libtorch
 * module tree whose parameter and buffer names equal the official state-dict keys after the {@code model.}
 * prefix: {@code conv1, bn1, conv2, bn2, layer1.N.*, transitionK.i[.j].*, stageS.M.branches.i.k.*,
 * stageS.M.fuse_layers.i.j[.k].*, last_layer.{0,1,3}.*} (BN buffers {@code running_mean, running_var,
 * num_batches_tracked}).
 *
 * <p>Used frozen in DeepSPG as the image-level semantic prior: {@link #freeze()} puts it in eval mode (BN uses
 * running statistics) and stops gradients to its parameters; gradients still flow to the input when the
 * input requires them.
 */
public final class HRNet extends org.deepspg.nn.JavaModule {
  /** ImageNet mean (RGB), the normalisation of the official training pipeline. */
  public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
  /** ImageNet std (RGB). */
  public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

  /**
   * Result of a forward pass.
   *
   * @param logits class logits at 1/4 resolution [B, numClasses, ceil(H/4), ceil(W/4)] (the output of
   *     {@code last_layer}, before any upsampling)
   * @param features the four stage-4 branch outputs after the last fuse (+ReLU): [B, C_i, H_i, W_i] at
   *     strides 4, 8, 16, 32 (each stride-2 conv gives ceil(n/2))
   */
  public record Output(Tensor logits, List<Tensor> features) {}

  private final HRNetConfig config;
  private InputNorm inputNorm = InputNorm.IMAGENET;
  private final Layers.FusedConvBn stem1;
  private final Layers.FusedConvBn stem2;
  private final Layers.BlockSeq layer1;
  /** transitions[t][i] feeds branch i of stage t+2; null where seg_hrnet has None. */
  private final Module[][] transitions = new Module[3][];
  private final HighResolutionModule[][] stages = new HighResolutionModule[3][];
  private final Layers.FusedConvBn head1;
  private final Layers.FusedConvBn classifier;

  /**
   * Builds the network with PyTorch's default initialisation (load weights afterwards).
   *
   * @param config the topology, e.g. {@link HRNetConfig#w48Ade20k()}
   */
  public HRNet(HRNetConfig config) {
    if (config == null) {
      throw new IllegalArgumentException("config must not be null");
    }
    this.config = config;
    int stem = HRNetConfig.STEM_CHANNELS;
    Conv2dImpl conv1 = register_module("conv1", Layers.conv(3, stem, 3, 2, false));
    stem1 = cache(new Layers.FusedConvBn(conv1, register_module("bn1", Layers.bn(stem, config)), 2));
    Conv2dImpl conv2 = register_module("conv2", Layers.conv(stem, stem, 3, 2, false));
    stem2 = cache(new Layers.FusedConvBn(conv2, register_module("bn2", Layers.bn(stem, config)), 2));
    HRNetConfig.Stage s1 = config.stage1();
    layer1 = register_module("layer1",
        Layers.makeLayer(s1.block(), stem, s1.numChannels()[0], s1.numBlocks()[0], 1, config));
    int[] pre = s1.outChannels();
    for (int t = 0; t < 3; t++) {
      HRNetConfig.Stage st = config.stage(t + 2);
      int[] cur = st.outChannels();
      transitions[t] = makeTransition(t + 1, pre, cur);
      Module seq = register_module("stage" + (t + 2), new org.deepspg.nn.JavaModule());
      stages[t] = new HighResolutionModule[st.numModules()];
      for (int m = 0; m < st.numModules(); m++) {
        stages[t][m] = seq.register_module(Integer.toString(m), new HighResolutionModule(st, cur, config));
      }
      pre = cur;
    }
    int last = config.lastLayerChannels();
    Module head = register_module("last_layer", new org.deepspg.nn.JavaModule());
    Conv2dImpl lastConv0 = head.register_module("0", Layers.conv(last, last, 1, 1, true));
    head1 = cache(new Layers.FusedConvBn(lastConv0, head.register_module("1", Layers.bn(last, config)), 1,
        config.featureChannels()));
    classifier = cache(new Layers.FusedConvBn(head.register_module("3",
        Layers.conv(last, config.numClasses(), config.finalConvKernel(), 1, true)), null, 1));
  }

  /** {@code _make_transition_layer}: registered as "transition{index}" with children per branch. */
  private Module[] makeTransition(int index, int[] pre, int[] cur) {
    Module list = register_module("transition" + index, new org.deepspg.nn.JavaModule());
    Module[] out = new Module[cur.length];
    for (int i = 0; i < cur.length; i++) {
      if (i < pre.length) {
        if (cur[i] != pre[i]) {
          out[i] = new Layers.ConvBn(pre[i], cur[i], 3, 1, true, config);
        } else {
          continue;
        }
      } else {
        int n = i + 1 - pre.length;
        Layers.ConvBn[] chain = new Layers.ConvBn[n];
        for (int j = 0; j < n; j++) {
          int in = pre[pre.length - 1];
          int o = j == i - pre.length ? cur[i] : in;
          chain[j] = new Layers.ConvBn(in, o, 3, 2, true, config);
        }
        out[i] = new Layers.ConvBnChain(chain);
      }
      list.register_module(Integer.toString(i), out[i]);
    }
    return out;
  }

  /**
   * The loading rules of the official {@code tools/test.py} and SKF's {@code create_hrnet}: strip the
   * {@code model.} prefix of the training wrapper, ignore {@code num_batches_tracked} (absent from torch-0.4
   * files, unused in eval mode) and the wrapper's {@code loss.*} entries; any other unknown key is dropped with a
   * warning.
   *
   * @return fresh options
   */
  public static LoadOptions officialLoadOptions() {
    return new LoadOptions().stripPrefix("model.").ignore(LoadOptions.NUM_BATCHES_TRACKED)
        .ignore(n -> n.startsWith("loss."));
  }

  /**
   * Copies checkpoint tensors into this network with {@link #officialLoadOptions()}.
   *
   * @param sd the checkpoint (keys with or without the {@code model.} prefix)
   * @return what was loaded, dropped and ignored
   * @throws IllegalArgumentException listing every missing key and shape mismatch (the network is unchanged)
   */
  public LoadReport loadStateDict(StateDict sd) {
    requireOpen();
    return ModuleLoader.load(this, sd, officialLoadOptions());
  }

  /**
   * Reads a checkpoint (zip or legacy {@code torch.save}, CPU- or CUDA-saved) and loads it.
   *
   * @param weights the {@code .pth} file
   * @return what was loaded, dropped and ignored
   * @throws IOException if the file cannot be read or is not a checkpoint
   * @throws IllegalArgumentException on missing keys or shape mismatches
   */
  public LoadReport loadWeights(Path weights) throws IOException {
    return loadStateDict(Checkpoints.read(weights));
  }

  /**
   * Builds a network for {@code config} and loads {@code weights} into it (not frozen).
   *
   * @param weights the {@code .pth} file
   * @param config the topology the checkpoint was trained with
   * @return the loaded network
   * @throws IOException if the file cannot be read or is not a checkpoint
   * @throws IllegalArgumentException on missing keys or shape mismatches
   */
  public static HRNet load(Path weights, HRNetConfig config) throws IOException {
    HRNet net = new HRNet(config);
    net.loadWeights(weights);
    return net;
  }

  /**
   * Loads the official HRNet-W48 ADE20K weights ({@code hrnet_ade20k_4312_torch04.pth}) into a
   * {@link HRNetConfig#w48Ade20k()} network and freezes it.
   *
   * @param weights the user's path to the file (null = not configured)
   * @return the frozen network, input normalisation {@link InputNorm#IMAGENET}
   * @throws MissingWeightsException when the path is null, missing, not a checkpoint or holds another model;
   *     the message names the official file, its role (SEM features and L_sem) and how to run without it
   */
  public static HRNet loadPretrained(Path weights) throws MissingWeightsException {
    return PriorWeights.HRNET_W48_ADE20K
        .loadInto(weights, () -> new HRNet(HRNetConfig.w48Ade20k()), HRNet::loadStateDict)
        .freeze();
  }

  /**
   * The configuration this network was built from.
   *
   * @return the configuration
   */
  public HRNetConfig config() {
    return config;
  }

  /**
   * The normalisation {@link #forwardRaw} applies.
   *
   * @return the current setting (default {@link InputNorm#IMAGENET})
   */
  public InputNorm inputNorm() {
    return inputNorm;
  }

  /**
   * Sets the normalisation {@link #forwardRaw} applies (config {@code hrnet.input_norm}).
   *
   * @param norm IMAGENET (what the official weights expect) or NONE (SKF's raw [0,1] input)
   * @return this
   */
  public HRNet inputNorm(InputNorm norm) {
    if (norm == null) {
      throw new IllegalArgumentException("input norm must not be null");
    }
    this.inputNorm = norm;
    return this;
  }

  /**
   * Runs the network on an already normalised input.
   *
   * @param normalizedInput [B, 3, H, W] float, any H, W ≥ 1 (multiples of 32 recommended)
   * @return logits [B, classes, H/4, W/4] and the four stage-4 features
   * @throws IllegalArgumentException if the input is not [B, 3, H, W]
   */
  public Output forward(Tensor normalizedInput) {
    requireOpen();
    checkImage(normalizedInput, "normalizedInput");
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor[] ys = body(normalizedInput, Integer.MAX_VALUE);
      // last_layer(cat(y0, up(y1), up(y2), up(y3))); in inference each branch's share of the 1x1 conv runs first,
      // at the branch's resolution (see Layers.FusedConvBn#forwardUpsampledConcat)
      Tensor head = head1.forwardUpsampledConcat(ys, config.alignCorners(), true);
      Tensor logits = classifier.forward(head, null, false);
      escape(outer, logits);
      List<Tensor> feats = new ArrayList<>(ys.length);
      for (Tensor f : ys) {
        escape(outer, f);
        feats.add(f);
      }
      return new Output(logits, List.copyOf(feats));
    }
  }

  /**
   * Runs the network up to the first {@code branches} stage-4 outputs: without the head (the bilinear up-sampling
   * and concatenation of all four branches, two 1×1 convolutions at stride 4) and without the last module's fused
   * outputs for later branches, which only the logits need. What an image prior's SEM features cost.
   *
   * @param normalizedInput [B, 3, H, W] float, any H, W ≥ 1 (multiples of 32 recommended)
   * @param branches how many stage-4 outputs, 1 .. the number of branches
   * @return the first {@code branches} stage-4 features, the same values as {@link #forward}'s
   * @throws IllegalArgumentException if the input is not [B, 3, H, W] or {@code branches} is out of range
   */
  public Tensor[] features(Tensor normalizedInput, int branches) {
    requireOpen();
    checkImage(normalizedInput, "normalizedInput");
    int n = config.stage(4).numChannels().length;
    if (branches < 1 || branches > n) {
      throw new IllegalArgumentException("branches must be 1.." + n + ", got " + branches);
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor[] ys = body(normalizedInput, branches);
      for (Tensor f : ys) {
        escape(outer, f);
      }
      return ys;
    }
  }

  /** Stem, layer 1, transitions and stages; the last module fuses only its first {@code outputs} branches. */
  private Tensor[] body(Tensor normalizedInput, int outputs) {
    Tensor x = stem1.forward(normalizedInput, null, true);
    x = stem2.forward(x, null, true);
    x = layer1.forward(x);
    Tensor[] ys = {x};
    for (int t = 0; t < 3; t++) {
      Module[] tr = transitions[t];
      Tensor[] xs = new Tensor[tr.length];
      for (int i = 0; i < tr.length; i++) {
        Tensor src = i < ys.length ? ys[i] : ys[ys.length - 1];
        if (tr[i] == null) {
          xs[i] = src;
        } else if (tr[i] instanceof Layers.ConvBn cb) {
          xs[i] = cb.forward(src);
        } else {
          xs[i] = ((Layers.ConvBnChain) tr[i]).forward(src);
        }
      }
      HighResolutionModule[] st = stages[t];
      for (int k = 0; k < st.length; k++) {
        xs = st[k].forward(xs, t == 2 && k == st.length - 1 ? outputs : Integer.MAX_VALUE);
      }
      ys = xs;
    }
    return ys;
  }

  /**
   * Runs the network on RGB in [0, 1], applying {@link #inputNorm()} first.
   *
   * @param rgb01 [B, 3, H, W] float RGB in [0, 1]
   * @return as {@link #forward(Tensor)}
   */
  public Output forwardRaw(Tensor rgb01) {
    requireOpen();
    checkImage(rgb01, "rgb01");
    // The normalised copy (one input-sized tensor) lives in the caller's scope like the outputs.
    return forward(normalize(rgb01, inputNorm));
  }

  /**
   * Applies an input normalisation to RGB in [0, 1].
   *
   * @param rgb01 [B, 3, H, W] float
   * @param norm the normalisation
   * @return [B, 3, H, W]: {@code (x − mean)/std} per channel for IMAGENET, the input itself for NONE
   */
  public static Tensor normalize(Tensor rgb01, InputNorm norm) {
    checkImage(rgb01, "rgb01");
    if (norm == InputNorm.NONE) {
      return rgb01;
    }
    Tensor mean = channelConstant(IMAGENET_MEAN, rgb01);
    Tensor std = channelConstant(IMAGENET_STD, rgb01);
    return rgb01.sub(mean).div(std);
  }

  /**
   * SKF's first forward output: {@code softmax_c(bilinear(logits, size = (4·h, 4·w), align_corners))}.
   * Note: the size is 4× the logits size, not the input size (they differ when H or W is not a multiple of 4).
   *
   * @param logits [B, classes, h, w]
   * @param alignCorners align_corners of the resize (true in seg_hrnet)
   * @return class probabilities [B, classes, 4h, 4w]
   */
  public static Tensor probsFull(Tensor logits, boolean alignCorners) {
    if (logits == null || logits.dim() != 4) {
      throw new IllegalArgumentException("logits must be [B, classes, h, w], got "
          + (logits == null ? "null" : shape(logits)));
    }
    Tensor up = upsample_bilinear2d(logits, new long[] {4 * logits.size(2), 4 * logits.size(3)}, alignCorners);
    return softmax(up, 1);
  }

  /**
   * {@link #probsFull(Tensor, boolean)} with this network's align_corners setting.
   *
   * @param logits [B, classes, h, w]
   * @return [B, classes, 4h, 4w]
   */
  public Tensor probsFull(Tensor logits) {
    return probsFull(logits, config.alignCorners());
  }

  /**
   * Freezes the network: eval mode (BN running statistics) and {@code requires_grad = false} on every
   * parameter.
   *
   * @return this
   */
  public HRNet freeze() {
    eval();
    TensorVector ps = parameters();
    for (long i = 0; i < ps.size(); i++) {
      ps.get(i).requires_grad_(false);
    }
    return this;
  }

  /**
   * Number of parameter elements (running statistics excluded).
   *
   * @return 65,953,830 for {@link HRNetConfig#w48Ade20k()}
   */
  public long parameterCount() {
    TensorVector ps = parameters();
    long n = 0;
    for (long i = 0; i < ps.size(); i++) {
      n += ps.get(i).numel();
    }
    return n;
  }

  private static Tensor channelConstant(float[] v, Tensor like) {
    Tensor t = org.bytedeco.pytorch.global.torch.tensor(v);
    return t.to(like.device(), like.scalar_type()).reshape(1, 3, 1, 1);
  }

  private static void checkImage(Tensor x, String name) {
    if (x == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (x.dim() != 4 || x.size(1) != 3) {
      throw new IllegalArgumentException(name + " must be [B, 3, H, W], got "
          + shape(x));
    }
  }

  static String shape(Tensor t) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < t.dim(); i++) {
      b.append(i == 0 ? "" : ", ").append(t.size(i));
    }
    return b.append(']').toString();
  }

  static void escape(PointerScope outer, Tensor t) {
    if (outer != null) {
      outer.attach(t);
    } else {
      t.retainReference();
    }
  }
}
