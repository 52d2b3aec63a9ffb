/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.espnet;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.LoadOptions;
import org.deepspg.model.io.LoadReport;
import org.deepspg.model.io.ModuleLoader;
import org.deepspg.model.io.StateDict;
import org.deepspg.model.io.TensorData;
import org.deepspg.nn.JavaModule;

/**
 * ESPNetv2 segmentation network (EESP encoder with input reinforcement, bottom-up EfficientPyrPool decoder),
 * built from the architecture description of {@code ../shared/priors/espnetv2/SOURCES.md} with the module names
 * of the upstream state dict, so that the legacy EdgeNets {@code .pth} files load through
 * {@link Checkpoints#read(Path)} (no code execution).
 *
 * <p>Input: ImageNet-normalised RGB {@code [B, 3, H, W]}, H and W multiples of 16 (see {@link #normalize}).
 * Output: logits at the input resolution plus the stride-2 logits and the four encoder maps (strides 2, 4, 8,
 * 16). Used frozen ({@link #freeze()}): BN in eval mode, no gradients.
 */
public final class ESPNetv2 extends JavaModule {
  /** ImageNet channel means (RGB). */
  public static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  /** ImageNet channel standard deviations (RGB). */
  public static final float[] STD = {0.229f, 0.224f, 0.225f};

  /** Cityscapes train-ID class names (20 outputs; index 19 was never a training target). */
  public static final List<String> CITYSCAPES_CLASSES = List.of("road", "sidewalk", "building", "wall", "fence",
      "pole", "traffic light", "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
      "bus", "train", "motorcycle", "bicycle", "background");
  /** PASCAL VOC class names (21 outputs). */
  public static final List<String> VOC_CLASSES = List.of("background", "aeroplane", "bicycle", "bird", "boat",
      "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
      "potted-plant", "sheep", "sofa", "train", "tv/monitor");

  /**
   * A network topology: width multiplier s and number of classes.
   *
   * @param scale width multiplier s (2.0 or 0.5: the scales whose encoder widths are known)
   * @param classes number of output classes (≥ 2)
   */
  public record Config(double scale, int classes) {
    /** Validates. */
    public Config {
      if (scale != 2.0 && scale != 0.5) {
        throw new IllegalArgumentException("ESPNetv2 scale must be 2.0 or 0.5, got " + scale);
      }
      if (classes < 2) {
        throw new IllegalArgumentException("ESPNetv2 classes must be >= 2, got " + classes);
      }
    }

    /** @return encoder widths of level1..level4 (strides 2, 4, 8, 16) */
    public int[] widths() {
      return scale == 2.0 ? new int[] {32, 128, 256, 512} : new int[] {16, 32, 64, 128};
    }

    /** @return the class names: Cityscapes for 20 classes, VOC for 21, else "class i" */
    public List<String> classNames() {
      if (classes == 20) {
        return CITYSCAPES_CLASSES;
      }
      if (classes == 21) {
        return VOC_CLASSES;
      }
      String[] n = new String[classes];
      for (int i = 0; i < classes; i++) {
        n[i] = "class " + i;
      }
      return List.of(n);
    }

    /** @return the dataset the classes are those of: "Cityscapes" for 20, "PASCAL VOC" for 21, else "custom" */
    public String dataset() {
      return classes == 20 ? "Cityscapes" : classes == 21 ? "PASCAL VOC" : "custom";
    }

    /** @return the input size (W×H) the weights were fine-tuned at: 1024x512 for 20 classes, 384x384 for 21 */
    public int[] trainingInputSize() {
      return classes == 21 ? new int[] {384, 384} : new int[] {1024, 512};
    }
  }

  /**
   * Forward results.
   *
   * @param logits [B, C, H, W] at the input resolution (align_corners bilinear resize of {@code logitsS2}); null
   *     from {@link #forward(Tensor, boolean) forward(x, false)}
   * @param logitsS2 [B, C, H/2, W/2], the last learned layer's output
   * @param features the encoder maps l1..l4: strides 2, 4, 8, 16 with {@link Config#widths()} channels
   */
  public record Output(Tensor logits, Tensor logitsS2, Tensor[] features) {}

  private final Config config;
  private final EspBlocks.Cbr level1;
  private final EspBlocks.DownSampler level2;
  private final EspBlocks.DownSampler level3Down;
  private final EspBlocks.Eesp[] level3 = new EspBlocks.Eesp[3];
  private final EspBlocks.DownSampler level4Down;
  private final EspBlocks.Eesp[] level4 = new EspBlocks.Eesp[7];
  private final EspBlocks.Epp dec1;
  private final EspBlocks.Epp dec2;
  private final EspBlocks.Epp dec3;
  private final EspBlocks.Epp dec4;
  private final EspBlocks.Epw merge2;
  private final EspBlocks.Epw merge3;
  private final EspBlocks.Epw merge4;
  private final EspBlocks.SeqBr br2;
  private final EspBlocks.SeqBr br3;
  private final EspBlocks.SeqBr br4;

  /**
   * Builds the network with PyTorch default initialisation.
   *
   * @param config the topology
   */
  public ESPNetv2(Config config) {
    if (config == null) {
      throw new IllegalArgumentException("config must not be null");
    }
    this.config = config;
    int[] w = config.widths();
    JavaModule base = register_module("base_net", new JavaModule());
    level1 = base.register_module("level1", new EspBlocks.Cbr(3, w[0], 3, 2, 1, true));
    level2 = base.register_module("level2_0", new EspBlocks.DownSampler(w[0], w[1], 13));
    level3Down = base.register_module("level3_0", new EspBlocks.DownSampler(w[1], w[2], 11));
    JavaModule l3 = base.register_module("level3", new JavaModule());
    for (int i = 0; i < level3.length; i++) {
      level3[i] = l3.register_module(Integer.toString(i), new EspBlocks.Eesp(w[2], w[2], 1, 9));
    }
    level4Down = base.register_module("level4_0", new EspBlocks.DownSampler(w[2], w[3], 9));
    JavaModule l4 = base.register_module("level4", new JavaModule());
    for (int i = 0; i < level4.length; i++) {
      level4[i] = l4.register_module(Integer.toString(i), new EspBlocks.Eesp(w[3], w[3], 1, 7));
    }
    int c = config.classes();
    int p = Math.min(c / 2, 16);
    int[] dec = {64, 48, 32};
    dec1 = register_module("bu_dec_l1", new EspBlocks.Epp(w[3], dec[0], p, false));
    dec2 = register_module("bu_dec_l2", new EspBlocks.Epp(dec[0], dec[1], p, false));
    dec3 = register_module("bu_dec_l3", new EspBlocks.Epp(dec[1], dec[2], p, false));
    dec4 = register_module("bu_dec_l4", new EspBlocks.Epp(dec[2], c, p, true));
    merge2 = register_module("merge_enc_dec_l2", new EspBlocks.Epw(w[2], dec[0]));
    merge3 = register_module("merge_enc_dec_l3", new EspBlocks.Epw(w[1], dec[1]));
    merge4 = register_module("merge_enc_dec_l4", new EspBlocks.Epw(w[0], dec[2]));
    br2 = register_module("bu_br_l2", new EspBlocks.SeqBr(dec[0]));
    br3 = register_module("bu_br_l3", new EspBlocks.SeqBr(dec[1]));
    br4 = register_module("bu_br_l4", new EspBlocks.SeqBr(dec[2]));
  }

  /** @return the topology */
  public Config config() {
    return config;
  }

  /**
   * Runs the network.
   *
   * @param normalizedInput [B, 3, H, W] float, ImageNet-normalised RGB, H and W positive multiples of 16
   * @return logits at input and half resolution, and the encoder maps
   * @throws IllegalArgumentException on another shape
   */
  public Output forward(Tensor normalizedInput) {
    return forward(normalizedInput, true);
  }

  /**
   * Runs the network, with or without the full-resolution logits (the image prior needs only the stride-2 ones and
   * the encoder maps; the resize is a full-size pass over every class map).
   *
   * @param normalizedInput [B, 3, H, W] float, ImageNet-normalised RGB, H and W positive multiples of 16
   * @param fullLogits whether to compute {@link Output#logits()} (else it is null)
   * @return the outputs
   * @throws IllegalArgumentException on another shape
   */
  public Output forward(Tensor normalizedInput, boolean fullLogits) {
    requireOpen();
    Tensor x = normalizedInput;
    checkInput(x);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor[] l = encode(x);
      Tensor d = dec1.forward(l[3]);
      d = dec2.forward(br2.forward(up2(d).add(merge2.forward(l[2]))));
      d = dec3.forward(br3.forward(up2(d).add(merge3.forward(l[1]))));
      d = dec4.forward(br4.forward(up2(d).add(merge4.forward(l[0]))));
      Tensor full = fullLogits ? EspBlocks.resize(d, x.size(2), x.size(3)) : null;
      keep(outer, full, d, l[0], l[1], l[2], l[3]);
      return new Output(full, d, l);
    }
  }

  /**
   * Runs the encoder alone: the maps {@link Output#features()} holds, without the decoder that only the logits need
   * (what an image prior's SEM features cost).
   *
   * @param normalizedInput [B, 3, H, W] float, ImageNet-normalised RGB, H and W positive multiples of 16
   * @return the encoder maps l1 .. l4 (strides 2, 4, 8, 16), the same values as {@link #forward}'s features
   * @throws IllegalArgumentException on another shape
   */
  public Tensor[] features(Tensor normalizedInput) {
    requireOpen();
    checkInput(normalizedInput);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor[] l = encode(normalizedInput);
      keep(outer, l);
      return l;
    }
  }

  private static void checkInput(Tensor x) {
    if (x == null || x.dim() != 4 || x.size(1) != 3 || x.size(2) < 16 || x.size(3) < 16
        || x.size(2) % 16 != 0 || x.size(3) % 16 != 0) {
      throw new IllegalArgumentException("ESPNetv2 input must be [B, 3, H, W] with H, W positive multiples of 16, "
          + "got " + (x == null ? "null" : shape(x)));
    }
  }

  /** The encoder's four levels, in the caller's scope. */
  private Tensor[] encode(Tensor x) {
    Tensor l1 = level1.forward(x);
    List<Tensor> pyramid = new ArrayList<>(List.of(x));
    Tensor l2 = level2.forward(l1, pyramid);
    Tensor l3 = level3Down.forward(l2, pyramid);
    for (EspBlocks.Eesp b : level3) {
      l3 = b.forward(l3);
    }
    Tensor l4 = level4Down.forward(l3, pyramid);
    for (EspBlocks.Eesp b : level4) {
      l4 = b.forward(l4);
    }
    return new Tensor[] {l1, l2, l3, l4};
  }

  /** Moves the outputs (null skipped) into the caller's scope, or keeps them alive when it has none. */
  private static void keep(PointerScope outer, Tensor... outputs) {
    for (Tensor t : outputs) {
      if (t == null) {
        continue;
      }
      if (outer != null) {
        outer.attach(t);
      } else {
        t.retainReference();
      }
    }
  }

  private static Tensor up2(Tensor d) {
    return EspBlocks.resize(d, 2 * d.size(2), 2 * d.size(3));
  }

  /**
   * ImageNet normalisation of RGB in [0, 1]: {@code (x − mean)/std} per channel, in the input's dtype.
   *
   * @param rgb01 [B, 3, H, W]
   * @return the normalised tensor
   */
  public static Tensor normalize(Tensor rgb01) {
    if (rgb01 == null || rgb01.dim() != 4 || rgb01.size(1) != 3) {
      throw new IllegalArgumentException("normalize: input must be [B, 3, H, W], got "
          + (rgb01 == null ? "null" : shape(rgb01)));
    }
    Tensor mean = org.bytedeco.pytorch.global.torch.tensor(MEAN).to(rgb01.device(), rgb01.scalar_type())
        .reshape(1, 3, 1, 1);
    Tensor std = org.bytedeco.pytorch.global.torch.tensor(STD).to(rgb01.device(), rgb01.scalar_type())
        .reshape(1, 3, 1, 1);
    return rgb01.sub(mean).div(std);
  }

  /**
   * Load options for the upstream files: keys as they are (no prefix), BN counters ignored, and any key the
   * network does not have is an error.
   *
   * @return the options
   */
  public static LoadOptions officialLoadOptions() {
    return new LoadOptions().ignore(LoadOptions.NUM_BATCHES_TRACKED).strictUnknown(true);
  }

  /**
   * Copies checkpoint tensors into this network.
   *
   * @param sd the upstream state dict
   * @return what was loaded and ignored
   * @throws IllegalArgumentException listing missing keys, unknown keys and shape mismatches
   */
  public LoadReport loadStateDict(StateDict sd) {
    requireOpen();
    return ModuleLoader.load(this, sd, officialLoadOptions());
  }

  /**
   * Infers the topology of an upstream state dict: s from {@code base_net.level1.conv.weight} (32 or 16 output
   * channels), the class count from {@code bu_dec_l4.merge_layer.3.bias}.
   *
   * @param sd the state dict
   * @return the configuration
   * @throws IllegalArgumentException when the dict is not an ESPNetv2 segmentation state dict of a known scale
   */
  public static Config configOf(StateDict sd) {
    TensorData l1 = sd.get("base_net.level1.conv.weight");
    TensorData head = sd.get("bu_dec_l4.merge_layer.3.bias");
    if (l1 == null || head == null || l1.shape().length != 4 || head.shape().length != 1) {
      throw new IllegalArgumentException("not an ESPNetv2 segmentation state dict (no base_net.level1.conv.weight "
          + "or bu_dec_l4.merge_layer.3.bias)");
    }
    long w = l1.shape()[0];
    if (w != 32 && w != 16) {
      throw new IllegalArgumentException("ESPNetv2 level1 width " + w + " is not one of the supported scales "
          + "(32 = s 2.0, 16 = s 0.5)");
    }
    return new Config(w == 32 ? 2.0 : 0.5, (int) head.shape()[0]);
  }

  /**
   * Reads an upstream ESPNetv2 segmentation checkpoint, builds the matching network and loads it (not frozen).
   *
   * @param weights the {@code .pth} file
   * @return the loaded network
   * @throws IOException if the file cannot be read or is not a checkpoint
   * @throws IllegalArgumentException on missing keys or shape mismatches
   */
  public static ESPNetv2 load(Path weights) throws IOException {
    StateDict sd = Checkpoints.read(weights);
    ESPNetv2 net = new ESPNetv2(configOf(sd));
    net.loadStateDict(sd);
    return net;
  }

  /**
   * Freezes the network: eval mode and {@code requires_grad = false} on every parameter.
   *
   * @return this
   */
  public ESPNetv2 freeze() {
    freezeParameters();
    return this;
  }

  /**
   * Number of parameter elements (BN running statistics excluded; the unused PReLU slopes of the three
   * strided EESP blocks included, as in the upstream count).
   *
   * @return 789,242 for s = 2.0 with 20 classes, 80,342 for s = 0.5 with 20 classes
   */
  public long parameterCount() {
    return parameterElements();
  }

  static String shape(Tensor t) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < t.dim(); i++) {
      b.append(i == 0 ? "" : ", ").append(t.size(i));
    }
    return b.append(']').toString();
  }
}
