/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.ops.NativeLibrary;
import org.deepspg.train.TrainCheckpoint;

/** Shared helpers of the inference tests: random models exported as weights files, test images. */
public final class InferTestSupport {
  /**
   * Attention temperature given to the random test models. At the init value 1 the softmax over cosine similarities
   * is almost uniform, so attention barely depends on the image and a test could not tell tiles with and without
   * the shared context apart; trained models learn sharper attention. 8 makes the global statistic matter.
   */
  public static final double TEST_TAU = 8.0;

  /**
   * Gain applied to the random test models' final mapping conv. A randomly initialised DeepSPG is nearly the
   * identity (output ≈ the lit-up input X_r, PSNR to the input ≈ 32 dB), which would hide differences in everything
   * the U-Net computes; a trained model changes the image strongly. With this gain the U-Net branch dominates the
   * output (see the probe numbers in docs/inference.md).
   */
  public static final double TEST_GAIN = 20.0;

  /**
   * Gain applied to the IG-MSA value and output projections of the random test models. Their initialisation
   * (truncated normal, std 0.02) makes the attention branch ~0.06× its input, so the c×c attention matrices would
   * hardly influence the output and no test could see whether tiles share them; a trained model relies on them.
   */
  public static final double TEST_ATTENTION_GAIN = 10.0;

  private InferTestSupport() {}

  /** @return a small DeepSPG (C = 8, one block per scale, no SEMs): fast CPU tests with every code path */
  public static DeepSPGConfig tinyBaseline() {
    return DeepSPGConfig.baseline(DeepSPGConfig.Size.S).withChannels(8).withBlocks(1, 1, 1);
  }

  /**
   * Builds a randomly initialised network (outside any PointerScope) and sets every attention temperature.
   *
   * @param cfg configuration
   * @param seed libtorch seed
   * @param tau value for every IG-MSA {@code rescale} and SEM {@code temperature}
   * @return the network
   */
  public static DeepSPG randomModel(DeepSPGConfig cfg, long seed, double tau) {
    return randomModel(cfg, seed, tau, TEST_GAIN);
  }

  private static DeepSPG shared;

  /**
   * The tiny baseline of seed 1 with {@link #TEST_TAU}, built once and shared by the inference tests that only run
   * it (never closed; tests that compute gradients reset them).
   *
   * @return the network
   */
  public static synchronized DeepSPG sharedTiny() {
    if (shared == null) shared = randomModel(tinyBaseline(), 1, TEST_TAU);
    return shared;
  }

  /**
   * Builds a randomly initialised network (outside any PointerScope), sets every attention temperature and scales the
   * final mapping conv.
   *
   * @param cfg configuration
   * @param seed libtorch seed
   * @param tau value for every IG-MSA {@code rescale} and SEM {@code temperature}
   * @param gain factor for {@code mapping.weight}
   * @return the network
   */
  public static DeepSPG randomModel(DeepSPGConfig cfg, long seed, double tau, double gain) {
    NativeLibrary.ensureLoaded();
    torch.manual_seed(seed);
    DeepSPG net = new DeepSPG(cfg);
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      StringTensorDict ps = net.named_parameters(true);
      for (long i = 0; i < ps.size(); i++) {
        String k = ps.get(i).key().getString();
        if (k.endsWith("rescale") || k.endsWith("temperature")) {
          Tensor t = ps.get(i).value();
          t.fill_(new org.bytedeco.pytorch.Scalar(tau));
        } else if (k.equals("mapping.weight")) {
          ps.get(i).value().mul_(new org.bytedeco.pytorch.Scalar(gain));
        } else if (k.endsWith("attn.v.weight") || k.endsWith("attn.proj.weight")) {
          ps.get(i).value().mul_(new org.bytedeco.pytorch.Scalar(TEST_ATTENTION_GAIN));
        }
      }
    }
    return net;
  }

  /**
   * Exports a random model as a weights file with its configuration (the format of the bundled model).
   *
   * @param dir folder
   * @param name file name
   * @param cfg configuration
   * @param seed seed
   * @return the file
   * @throws IOException on write errors
   */
  public static Path exportRandom(Path dir, String name, DeepSPGConfig cfg, long seed) throws IOException {
    DeepSPG net = randomModel(cfg, seed, TEST_TAU);
    try {
      Path f = dir.resolve(name);
      exportWeights(f, net, cfg.toProperties());
      return f;
    } finally {
      net.close();
    }
  }

  /**
   * Writes the format of {@link TrainCheckpoint#exportWeights} (plain state dict + {@code deepspg.properties}).
   * Not the method itself: {@code TrainCheckpoint.tensorsOf} keeps tensor handles that point into temporary
   * {@code StringTensorDict}s, which a garbage collection between building the map and writing it frees ("Unsupported
   * TypeMeta in ATen" seen in this test suite); here each handle is copied while its dict is alive.
   */
  static void exportWeights(Path file, DeepSPG net, java.util.Properties meta) throws IOException {
    try (PointerScope s = new PointerScope()) {
      org.deepspg.model.io.StateDictWriter w = new org.deepspg.model.io.StateDictWriter();
      StringTensorDict ps = net.named_parameters(true);
      for (long i = 0; i < ps.size(); i++) {
        w.put(ps.get(i).key().getString(), new Tensor(ps.get(i).value()));
      }
      java.io.StringWriter sw = new java.io.StringWriter();
      meta.store(sw, "DeepSPG-Java model");
      w.putExtra(TrainCheckpoint.META_ENTRY, sw.toString());
      String stem = file.getFileName().toString().replaceAll("\\.[^.]*$", "");
      try (java.io.OutputStream out = Files.newOutputStream(file)) {
        w.write(out, stem.isEmpty() ? "archive" : stem);
      }
      java.lang.ref.Reference.reachabilityFence(ps);
    }
  }

  /**
   * A structured, dark test image: smooth colour gradients, a few discs and stripes, mild noise; values in
   * [0, 0.35].
   *
   * @param h height
   * @param w width
   * @param seed seed
   * @return the image (8-bit RGB metadata)
   */
  public static Image darkImage(int h, int w, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] p = new float[3 * h * w];
    double[][] discs = new double[6][];
    for (int i = 0; i < discs.length; i++) {
      discs[i] = new double[] {r.nextDouble() * h, r.nextDouble() * w, 0.05 * Math.min(h, w) + r.nextDouble() * 0.2
          * Math.min(h, w), r.nextDouble(), r.nextDouble(), r.nextDouble()};
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double u = y / (double) h, v = x / (double) w;
        double[] c = {0.3 * u, 0.2 * v, 0.15 * (1 - u) * v};
        for (double[] d : discs) {
          double dy = y - d[0], dx = x - d[1];
          if (dy * dy + dx * dx < d[2] * d[2]) {
            c[0] = 0.35 * d[3];
            c[1] = 0.35 * d[4];
            c[2] = 0.35 * d[5];
          }
        }
        if (((x / 7) & 1) == 0 && y > h / 2 && y < h / 2 + h / 10) {
          c[1] += 0.1;
        }
        for (int ch = 0; ch < 3; ch++) {
          p[ch * h * w + y * w + x] = (float) Math.max(0, Math.min(1, c[ch] + 0.01 * r.nextGaussian()));
        }
      }
    }
    return Image.of(w, h, p);
  }

  /**
   * The bundled sample (repository {@code samples/}), or null when not found from the working directory.
   *
   * @param name file name, e.g. {@code aitzgorri.jpg}
   * @return the path or null
   */
  public static Path sample(String name) {
    for (Path base : new Path[] {Path.of("../samples"), Path.of("samples")}) {
      Path p = base.resolve(name);
      if (Files.isRegularFile(p)) return p;
    }
    return null;
  }

  /**
   * @param a image
   * @param b image of the same size
   * @return PSNR in dB over all pixels and channels
   */
  public static double psnr(float[] a, float[] b) {
    return org.deepspg.eval.Metrics.psnr(a, b);
  }

  /**
   * @param img image
   * @return its pixels as a {@code [1, 3, H, W]} tensor
   */
  public static Tensor tensor(Image img) {
    return ImageTensors.toTensor(img);
  }
}
