/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

/**
 * The exact sRGB transfer functions of IEC 61966-2-1: the decoding EOTF
 * {@code lin = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055)^2.4} and its inverse
 * {@code c = lin <= 0.0031308 ? 12.92 lin : 1.055 lin^(1/2.4) - 0.055}. Inputs outside [0, 1] are clamped first.
 */
public final class Srgb {
  private Srgb() {}

  /**
   * @param c sRGB-encoded value
   * @return linear-light value in [0, 1]
   */
  public static double toLinear(double c) {
    if (!(c > 0)) return 0; // also maps NaN to 0
    if (c >= 1) return 1;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }

  /**
   * @param lin linear-light value
   * @return sRGB-encoded value in [0, 1]
   */
  public static double fromLinear(double lin) {
    if (!(lin > 0)) return 0;
    if (lin >= 1) return 1;
    return lin <= 0.0031308 ? 12.92 * lin : 1.055 * Math.pow(lin, 1 / 2.4) - 0.055;
  }

  /**
   * @param srgb sRGB-encoded values (not modified)
   * @return a new array of linear-light values
   */
  public static float[] toLinear(float[] srgb) {
    float[] out = new float[srgb.length];
    for (int i = 0; i < srgb.length; i++) out[i] = (float) toLinear(srgb[i]);
    return out;
  }

  /**
   * @param lin linear-light values (not modified)
   * @return a new array of sRGB-encoded values
   */
  public static float[] fromLinear(float[] lin) {
    float[] out = new float[lin.length];
    for (int i = 0; i < lin.length; i++) out[i] = (float) fromLinear(lin[i]);
    return out;
  }
}
