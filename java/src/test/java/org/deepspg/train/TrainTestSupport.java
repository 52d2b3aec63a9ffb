/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.model.clip.Clip;
import org.deepspg.model.clip.ClipTokenizer;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.model.io.StateDictWriter;
import org.deepspg.ops.Backends;
import org.deepspg.testing.PriorFixtures;
import org.deepspg.model.prior.ImagePriors;

/**
 * Shared helpers for the training tests: tiny prior networks and a tiny paired dataset on disk.
 *
 * <p><b>Why a second tiny HRNet.</b> The shared fixture {@code hrnet/tiny_zip.pth} has stage-4 channels 8/16/32/64,
 * but DeepSPG's SEMs are built for HRNet-W48's 48/96/192 ({@code DeepSPG.HRNET_CHANNELS}, not configurable). So the
 * SEM-feeding tests use an HRNet with the W48 widths but one block per branch and one module per stage (random
 * weights, seeded), written to a temp folder as a zip checkpoint plus a topology JSON so the same files also go
 * through {@code hrnet.weights}/{@code hrnet.config}. The fixture HRNet is used where only L_sem is involved.
 * CLIP is the shared tiny fixture (manifest + {@code tiny_clip_state.pth}) with OpenAI's tokenizer vocabulary.
 */
public final class TrainTestSupport {
  private TrainTestSupport() {}

  /** Topology JSON (neutral form) of the test HRNet: W48 widths, minimal depth, 7 classes. */
  public static final String HRNET_W48_TINY_JSON = """
      {"stages": {
        "STAGE1": {"num_modules": 1, "block": "BOTTLENECK", "num_blocks": [1], "num_channels": [8]},
        "STAGE2": {"num_modules": 1, "block": "BASIC", "num_blocks": [1, 1], "num_channels": [48, 96]},
        "STAGE3": {"num_modules": 1, "block": "BASIC", "num_blocks": [1, 1, 1], "num_channels": [48, 96, 192]},
        "STAGE4": {"num_modules": 1, "block": "BASIC", "num_blocks": [1, 1, 1, 1], "num_channels": [48, 96, 192, 384]}},
       "num_classes": 7, "final_conv_kernel": 1, "align_corners": true}
      """;

  /** Files of the test HRNet. */
  public record HrnetFiles(Path weights, Path config) {}

  /**
   * Writes the W48-width tiny HRNet (random weights from {@code seed}, BN running stats randomised too so eval-mode BN
   * is not the identity) to {@code dir}.
   */
  public static HrnetFiles writeTinyHrnet(Path dir, long seed) throws IOException {
    Backends.init();
    Files.createDirectories(dir);
    Path json = dir.resolve("hrnet_tiny_w48.json");
    Files.writeString(json, HRNET_W48_TINY_JSON);
    torch.manual_seed(seed);
    HRNet net = new HRNet(org.deepspg.model.hrnet.HRNetConfig.fromJson(json));
    StateDictWriter w = new StateDictWriter();
    try (PointerScope s = new PointerScope()) {
      for (Map.Entry<String, Tensor> e : TrainCheckpoint.tensorsOf(net).entrySet()) {
        Tensor t = e.getValue();
        if (e.getKey().endsWith("running_var")) t = torch.rand_like(t).add(new org.bytedeco.pytorch.Scalar(0.5));
        else if (e.getKey().endsWith("running_mean")) t = torch.randn_like(t).mul(new org.bytedeco.pytorch.Scalar(0.1));
        w.put(e.getKey(), t.detach().clone());
      }
      Path f = dir.resolve("hrnet_tiny_w48.pth");
      try (OutputStream o = Files.newOutputStream(f)) {
        w.write(o, "hrnet_tiny_w48");
      }
    }
    return new HrnetFiles(dir.resolve("hrnet_tiny_w48.pth"), json);
  }

  /** @return the W48-width tiny HRNet loaded through the production path ({@link ImagePriors#loadHrnet}) */
  public static HRNet tinyHrnet(Path dir) throws IOException {
    HrnetFiles f = writeTinyHrnet(dir, 1234);
    return ImagePriors.loadHrnet(f.weights(), f.config(), InputNorm.IMAGENET);
  }

  /** @return the shared tiny CLIP fixture, frozen */
  public static Clip tinyClip() throws IOException {
    return Priors.loadClip(clipWeights(), clipManifest());
  }

  /** @return the shared tiny CLIP weights */
  public static Path clipWeights() {
    return PriorFixtures.fixtures().resolve("clip/tiny_clip_state.pth");
  }

  /** @return the shared tiny CLIP manifest (hyper-parameters) */
  public static Path clipManifest() {
    return PriorFixtures.fixtures().resolve("clip/manifest.json");
  }

  /** @return OpenAI's BPE vocabulary from the shared fixtures */
  public static Path vocab() {
    return PriorFixtures.fixtures().resolve("tokenizer/bpe_simple_vocab_16e6.txt.gz");
  }

  /** @return the tokenizer */
  public static ClipTokenizer tokenizer() {
    return ClipTokenizer.load(vocab());
  }

  /**
   * The settings of a toy run that the tests vary: C = 8, one IGAB per scale, patches of 32 in batches of 2, no
   * loader threads, one libtorch thread, one validation image, no plots.
   *
   * @param data the training dataset root
   * @param runDir the run folder
   * @return the properties (add variant, epochs, ... on top)
   */
  public static Properties tinyRun(Path data, Path runDir) {
    Properties p = new Properties();
    p.setProperty("model.channels", "8");
    p.setProperty("model.blocks", "1,1,1");
    p.setProperty("patch", "32");
    p.setProperty("batch", "2");
    p.setProperty("data.train", data.toString());
    p.setProperty("data.workers", "0");
    p.setProperty("run.dir", runDir.toString());
    p.setProperty("threads", "1");
    p.setProperty("val.max_images", "1");
    p.setProperty("plots", "false");
    return p;
  }

  /**
   * A new trainer for these settings, with the priors they name.
   *
   * @param p the settings (e.g. {@link #tinyRun} and more)
   * @return the trainer
   * @throws IOException when a prior cannot be loaded
   */
  public static Trainer trainer(Properties p) throws IOException {
    TrainConfig c = TrainConfig.fromProperties(p);
    return new Trainer(c, Priors.load(c));
  }

  /**
   * Writes a tiny paired dataset {@code root/{train,test}/{low,high}/NNN.png}: smooth random colour fields with a
   * few edges as targets, darkened ({@code 0.15·x^1.3}) with a little noise as inputs.
   */
  public static Path writeTinyDataset(Path root, int trainPairs, int testPairs, int size, long seed) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    for (String split : new String[] {"train", "test"}) {
      int n = split.equals("train") ? trainPairs : testPairs;
      for (int i = 0; i < n; i++) {
        float[] hi = new float[3 * size * size], lo = new float[hi.length];
        double[] a = new double[12];
        for (int k = 0; k < a.length; k++) a[k] = r.nextDouble();
        int edge = 8 + r.nextInt(size - 16);
        for (int c = 0; c < 3; c++) {
          for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
              double v = 0.25 + 0.25 * a[c] + 0.2 * Math.sin(6.28 * (a[3 + c] * x + a[6 + c] * y) / size * 3)
                  + (x > edge ? 0.2 * a[9 + c] : 0);
              v = Math.max(0, Math.min(1, v));
              int idx = c * size * size + y * size + x;
              hi[idx] = (float) v;
              lo[idx] = (float) Math.max(0, Math.min(1, 0.15 * Math.pow(v, 1.3) + 0.01 * (r.nextDouble() - 0.5)));
            }
          }
        }
        String name = String.format("%03d.png", i);
        Path ld = root.resolve(split).resolve("low"), hd = root.resolve(split).resolve("high");
        Files.createDirectories(ld);
        Files.createDirectories(hd);
        Images.write(Image.of(size, size, lo), ld.resolve(name));
        Images.write(Image.of(size, size, hi), hd.resolve(name));
      }
    }
    return root;
  }
}
