/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.deepspg.data.Degradation;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.data.WriteOptions;

/**
 * Makes the bundled low-light samples ({@code samples/}, see {@code samples/ATTRIBUTION.md}): downscale a
 * normal-light photo to {@value #LONG_SIDE} px on the long side (area averaging), darken it with
 * {@link Degradation#apply} using fixed parameters and a fixed seed, write a JPEG (quality {@value #QUALITY}).
 *
 * <p>Run (from {@code java/} after {@code mvn test-compile}):
 * {@code java -cp "target/classes:target/test-classes:target/lib/*" org.deepspg.infer.MakeSamples OUTDIR
 * SRC NAME EXPOSURE GAMMA [SRC NAME EXPOSURE GAMMA ...]}
 */
public final class MakeSamples {
  /** Long side of the samples. */
  static final int LONG_SIDE = 640;
  /** JPEG quality of the samples. */
  static final int QUALITY = 92;
  /** Photo-electrons at full scale (shot noise). */
  static final double PHOTONS = 1500;
  /** Read noise (linear units). */
  static final double READ_SIGMA = 0.002;

  private MakeSamples() {}

  /**
   * @param args OUTDIR then groups of SRC NAME EXPOSURE GAMMA
   * @throws Exception on I/O errors
   */
  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    Files.createDirectories(out);
    for (int i = 1; i + 3 < args.length; i += 4) {
      Path src = Path.of(args[i]);
      String name = args[i + 1];
      double k = Double.parseDouble(args[i + 2]);
      double g = Double.parseDouble(args[i + 3]);
      Image hi = Images.read(src);
      int[] s = AreaResize.fit(hi.height(), hi.width(), LONG_SIDE);
      Image small = Image.of(s[1], s[0], AreaResize.resize(hi.rgb(), 3, hi.height(), hi.width(), s[0], s[1]));
      long seed = name.hashCode();
      Degradation.Drawn d = new Degradation.Drawn(k, g, PHOTONS, READ_SIGMA, 0);
      Image low = Degradation.apply(small, d, new SplittableRandom(seed));
      Path dst = out.resolve(name + ".jpg");
      Images.writeAtomic(low, dst, WriteOptions.DEFAULT.withJpegQuality(QUALITY));
      double mean = 0;
      for (float v : low.rgb()) mean += v;
      mean /= low.rgb().length;
      System.out.printf(Locale.ROOT, "%s <- %s: %dx%d, exposure %.3f, gamma %.2f, photons %.0f, sigma %.4f, seed %d, "
          + "mean %.3f, %d bytes%n", dst, src.getFileName(), s[1], s[0], k, g, PHOTONS, READ_SIGMA, seed, mean,
          Files.size(dst));
    }
  }
}
