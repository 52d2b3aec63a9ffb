/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.awt.color.ICC_Profile;
import java.awt.color.ICC_ProfileRGB;
import java.awt.color.ProfileDataException;
import java.awt.image.ColorModel;
import java.awt.image.Raster;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Converts the pixels of an RGB matrix/TRC ICC profile (Adobe RGB, Display P3, ProPhoto, linear RGB, ...) to sRGB in
 * floating point: each component through its tone curve, the colorant matrix to PCS XYZ (D50), the Bradford-adapted
 * D50 XYZ to linear sRGB matrix, clipped to [0, 1], and the sRGB transfer. Used for 16-bit and float sources, where
 * the JDK's colour management works in 16-bit tables whose dark end is coarse.
 */
final class MatrixShaper {
  /** PCS XYZ (D50) to linear sRGB (D65), Bradford adaptation (as in the ICC sRGB profile's colorants). */
  private static final double[][] XYZ_D50_TO_SRGB = {
    {3.1338561, -1.6168667, -0.4906146},
    {-0.9787684, 1.9161415, 0.0334540},
    {0.0719453, -0.2289914, 1.4052427}};
  /** The red, green and blue tone-curve tags. */
  private static final int[] RGB_TRC = {ICC_Profile.icSigRedTRCTag, ICC_Profile.icSigGreenTRCTag,
      ICC_Profile.icSigBlueTRCTag};
  /** Steps of the table a parametric curve is sampled into (linearly interpolated between them). */
  private static final int PARA_STEPS = 4096;
  /** Steps of the linear-to-sRGB table (linearly interpolated between them). */
  private static final int ENCODE_STEPS = 1 << 16;

  private MatrixShaper() {}

  /**
   * @param r the source raster (bands 0..2 RGB, in the profile's encoding)
   * @param cm its colour model (component sizes)
   * @param p the profile
   * @param rgb the planar sRGB output, {@code [3, H, W]}
   * @param path for messages
   * @return false when the profile's tone curves are not simple gammas or tables (the caller converts otherwise)
   * @throws ImageReadException for a non-finite float sample
   */
  static boolean toSrgb(Raster r, ColorModel cm, ICC_ProfileRGB p, float[] rgb, Path path) throws ImageReadException {
    int n = r.getWidth() * r.getHeight();
    double[][] curve = new double[3][];
    double[] gamma = new double[3];
    for (int c = 0; c < 3; c++) {
      int comp = c;
      try {
        curve[c] = toneCurve(p, RGB_TRC[comp], gamma, c);
      } catch (ProfileDataException | IllegalArgumentException notATable) {
        return false; // a parametric curve: left to the JDK's colour management
      }
    }
    float[][] m = p.getMatrix();
    double[][] k = new double[3][3]; // linear profile RGB -> linear sRGB
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        for (int x = 0; x < 3; x++) k[i][j] += XYZ_D50_TO_SRGB[i][x] * m[x][j];
      }
    }
    float[] a = new float[n];
    float[] b = new float[n];
    float[] c3 = new float[n];
    Images.readBand(r, cm, 0, a, 0, path);
    Images.readBand(r, cm, 1, b, 0, path);
    Images.readBand(r, cm, 2, c3, 0, path);
    float[] encode = new float[ENCODE_STEPS + 1];
    for (int i = 0; i <= ENCODE_STEPS; i++) encode[i] = (float) Srgb.fromLinear(i / (double) ENCODE_STEPS);
    // Integer samples of up to 16 bits take their tone curve from a table of every code value.
    int dt = r.getDataBuffer().getDataType();
    boolean ints = dt != java.awt.image.DataBuffer.TYPE_FLOAT && dt != java.awt.image.DataBuffer.TYPE_DOUBLE;
    double[][] lut = new double[3][];
    for (int c = 0; c < 3; c++) {
      int bits = cm.getComponentSize(c);
      if (!ints || bits > 16) continue;
      int max = (1 << bits) - 1;
      lut[c] = new double[max + 1];
      for (int v = 0; v <= max; v++) lut[c][v] = linear((float) (v / (double) max), gamma[c], curve[c]);
    }
    for (int i = 0; i < n; i++) {
      double lr = lut[0] != null ? lut[0][Math.round(a[i] * (lut[0].length - 1))] : linear(a[i], gamma[0], curve[0]);
      double lg = lut[1] != null ? lut[1][Math.round(b[i] * (lut[1].length - 1))] : linear(b[i], gamma[1], curve[1]);
      double lb = lut[2] != null ? lut[2][Math.round(c3[i] * (lut[2].length - 1))] : linear(c3[i], gamma[2], curve[2]);
      for (int o = 0; o < 3; o++) {
        double v = k[o][0] * lr + k[o][1] * lg + k[o][2] * lb;
        double f = Math.min(1, Math.max(0, v)) * ENCODE_STEPS;
        int lo = (int) Math.min(ENCODE_STEPS - 1, f);
        rgb[o * n + i] = (float) (encode[lo] + (f - lo) * (encode[lo + 1] - encode[lo]));
      }
    }
    return true;
  }

  /**
   * A tone curve, read from the tag's bytes: a 'curv' gamma, stored in {@code gamma[slot]} (null returned), or a table
   * of values in [0, 1] (an empty table is the identity, gamma 1); a 'para' function (ICC types 0 to 4) sampled into a
   * table. The JDK's {@code getTRC} gives a parametric curve as an empty table, which read as the identity converted
   * a Gray Gamma 1.8 profile of that type as if it were linear.
   *
   * @throws ProfileDataException for a curve of another type or a tag that is cut short
   */
  private static double[] toneCurve(ICC_Profile p, int tag, double[] gamma, int slot) {
    byte[] t = p.getData(tag);
    if (t == null || t.length < 12) throw new ProfileDataException("no tone curve");
    String type = new String(t, 0, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
    ByteBuffer b = ByteBuffer.wrap(t);
    if (type.equals("curv")) {
      long n = b.getInt(8) & 0xffffffffL;
      if (n > (t.length - 12) / 2) throw new ProfileDataException("tone curve cut short");
      if (n <= 1) {
        gamma[slot] = n == 0 ? 1 : (b.getShort(12) & 0xffff) / 256.0;
        return null;
      }
      double[] c = new double[(int) n];
      for (int i = 0; i < n; i++) c[i] = (b.getShort(12 + 2 * i) & 0xffff) / 65535.0;
      return c;
    }
    int fn = b.getShort(8) & 0xffff;
    int[] params = {1, 3, 4, 5, 7};
    if (!type.equals("para") || fn >= params.length || t.length < 12 + 4 * params[fn]) {
      throw new ProfileDataException("tone curve of type '" + type + "'");
    }
    double[] v = new double[7]; // g, a, b, c, d, e, f
    for (int i = 0; i < params[fn]; i++) v[i] = b.getInt(12 + 4 * i) / 65536.0;
    double[] c = new double[PARA_STEPS + 1];
    for (int k = 0; k <= PARA_STEPS; k++) c[k] = Math.min(1, Math.max(0, para(fn, v, k / (double) PARA_STEPS)));
    return c;
  }

  /** An ICC parametric curve of function type {@code fn} with parameters {g, a, b, c, d, e, f} at {@code x}. */
  private static double para(int fn, double[] v, double x) {
    double g = v[0], a = v[1], b = v[2], c = v[3], d = v[4], e = v[5], f = v[6];
    return switch (fn) {
      case 0 -> Math.pow(x, g);
      case 1 -> x >= -b / a ? Math.pow(a * x + b, g) : 0;
      case 2 -> x >= -b / a ? Math.pow(a * x + b, g) + c : c;
      case 3 -> x >= d ? Math.pow(a * x + b, g) : c * x;
      default -> x >= d ? Math.pow(a * x + b, g) + e : c * x + f; // 4
    };
  }

  /** The tone curve of a grey profile: {gamma} or the table; throws for one it cannot read. */
  private static double[] grayCurve(java.awt.color.ICC_ProfileGray p, double[] gamma) {
    return toneCurve(p, ICC_Profile.icSigGrayTRCTag, gamma, 0);
  }

  /**
   * Whether a grey profile's tone curve is within half an 8-bit step of sRGB's (Gray Gamma 2.2 is not quite: about 1
   * step in the shadows), so that its pixels are taken as they are; false for a curve it cannot read.
   *
   * @param p the profile
   * @return true when the curve acts as sRGB's, or cannot be read ({@link #grayCurveProblem})
   */
  static boolean grayActsAsSrgb(java.awt.color.ICC_ProfileGray p) {
    return grayCurveProblem(p) != null || grayMatchesSrgb(p);
  }

  /**
   * @param p a grey profile
   * @return why its tone curve cannot be read (e.g. "tone curve of type 'sf32'"), or null when it can
   */
  static String grayCurveProblem(java.awt.color.ICC_ProfileGray p) {
    try {
      grayCurve(p, new double[1]);
      return null;
    } catch (ProfileDataException | IllegalArgumentException | IndexOutOfBoundsException unreadable) {
      return String.valueOf(unreadable.getMessage());
    }
  }

  private static boolean grayMatchesSrgb(java.awt.color.ICC_ProfileGray p) {
    try {
      double[] gamma = new double[1];
      double[] curve = grayCurve(p, gamma);
      for (int k = 1; k < 32; k++) {
        double v = k / 32.0;
        if (Math.abs(Srgb.fromLinear(linear((float) v, gamma[0], curve)) - v) > 0.5 / 255) return false;
      }
      return true;
    } catch (ProfileDataException | IllegalArgumentException | IndexOutOfBoundsException unreadable) {
      return true; // nothing to convert with: the pixels as they are (grayCurveProblem says why)
    }
  }

  /**
   * Grey values of a grey profile to sRGB-encoded grey in place: each value through the profile's tone curve to
   * relative luminance, then the sRGB transfer (a neutral grey's Y in sRGB).
   *
   * @param v the values, {@code [n]} from index 0
   * @param n how many
   * @param p the profile
   */
  static void grayToSrgb(float[] v, int n, java.awt.color.ICC_ProfileGray p) {
    double[] gamma = new double[1];
    double[] curve = grayCurve(p, gamma);
    float[] lut = new float[65536]; // every 16-bit code value (8-bit values k/255 fall on k·257)
    for (int k = 0; k < lut.length; k++) {
      lut[k] = (float) Srgb.fromLinear(Math.min(1, Math.max(0, linear(k / 65535f, gamma[0], curve))));
    }
    for (int i = 0; i < n; i++) v[i] = lut[Math.round(Math.min(1, Math.max(0, v[i])) * 65535)];
  }

  /** A component value in [0, 1] through a gamma (curve null) or a table (linear interpolation). */
  private static double linear(float v, double gamma, double[] curve) {
    if (curve == null) return Math.pow(v, gamma);
    double f = v * (curve.length - 1);
    int lo = (int) Math.min(curve.length - 2, Math.max(0, f));
    return curve[lo] + (f - lo) * (curve[lo + 1] - curve[lo]);
  }
}
