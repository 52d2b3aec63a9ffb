/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.nio.file.Path;
import java.util.Locale;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;

/**
 * Measures tiled inference against whole-image inference (the numbers in {@code docs/inference.md}): PSNR of the
 * tiled result with the shared attention context and of naive tiles without it, both against whole-image inference
 * of the same random-weight network.
 *
 * <p>Run from {@code java/}: {@code java -cp "target/classes:target/test-classes:target/lib/*"
 * org.deepspg.infer.TilingProbe ARCH TAU IMAGE[@LONGSIDE]|HxW TILE OVERLAP [CONTEXT]} with ARCH {@code s-baseline},
 * {@code l-baseline} or {@code tiny} (random weights with all attention temperatures set to TAU), or the path of a
 * trained weights file ({@code .pth}; TAU is then ignored: the trained temperatures are used).
 */
public final class TilingProbe {
  private TilingProbe() {}

  /**
   * @param a see the class comment
   * @throws Exception on errors
   */
  public static void main(String[] a) throws Exception {
    boolean trained = a[0].endsWith(".pth");
    DeepSPGConfig cfg = trained ? null : a[0].equals("tiny") ? InferTestSupport.tinyBaseline() : ModelFiles.preset(a[0]);
    double tau = Double.parseDouble(a[1]);
    Image img;
    if (a[2].matches("\\d+x\\d+")) {
      String[] hw = a[2].split("x");
      img = InferTestSupport.darkImage(Integer.parseInt(hw[0]), Integer.parseInt(hw[1]), 11);
    } else {
      String[] spec = a[2].split("@");
      img = Images.read(Path.of(spec[0]));
      if (spec.length > 1) {
        int[] s = AreaResize.fit(img.height(), img.width(), Integer.parseInt(spec[1]));
        img = Image.of(s[1], s[0], AreaResize.resize(img.rgb(), 3, img.height(), img.width(), s[0], s[1]));
      }
    }
    int tile = Integer.parseInt(a[3]);
    int overlap = Integer.parseInt(a[4]);
    int context = a.length > 5 ? Integer.parseInt(a[5]) : TileOptions.DEFAULT_CONTEXT;
    double gain = Double.parseDouble(System.getProperty("probe.gain", "" + InferTestSupport.TEST_GAIN));
    DeepSPG net =
        trained ? ModelFiles.loadFile(Path.of(a[0]), null).net() : InferTestSupport.randomModel(cfg, 1, tau, gain);
    TileOptions tiled = new TileOptions(tile, overlap, context, 0);
    org.bytedeco.pytorch.global.torch.globalContext().setUserEnabledMkldnn(!Boolean.getBoolean("probe.slow"));
    try (Enhancer whole = Enhancer.builder().model(net).tiling(TileOptions.never()).build();
        Enhancer ctx = Enhancer.builder().model(net).tiling(tiled).build();
        Enhancer naive = Enhancer.builder().model(net).tiling(tiled).tileContext(false).build()) {
      long t0 = System.nanoTime();
      float[] w = whole.enhance(img).rgb();
      long t1 = System.nanoTime();
      float[] c = ctx.enhance(img).rgb();
      long t2 = System.nanoTime();
      float[] n = naive.enhance(img).rgb();
      long t3 = System.nanoTime();
      float[] in = img.rgb();
      System.out.printf(Locale.ROOT, "%s tau=%.1f gain=%.0f image %dx%d tile %d overlap %d context %d tiles %d: "
          + "PSNR(context vs whole) %.2f dB, PSNR(naive vs whole) %.2f dB, PSNR(input vs whole) %.2f dB; "
          + "time whole %.2fs context %.2fs naive %.2fs%n",
          a[0], trained ? Double.NaN : tau, trained ? Double.NaN : gain, img.width(), img.height(), tile, overlap,
          context, ctx.stats().tiles(),
          InferTestSupport.psnr(c, w), InferTestSupport.psnr(n, w), InferTestSupport.psnr(in, w),
          (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
    } finally {
      net.close();
    }
  }
}
