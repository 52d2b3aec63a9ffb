/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Colour that the JDK's decoders deliver without an error but not as sRGB (found by an audit of the CLI, session 32):
 * each file here came out of {@code deepspg enhance} with exit code 0 and wrong colours (or black) before the fix.
 * Files are written byte by byte so that each case is exactly the one named.
 */
class ImageColourTest {
  private static final Path NAME = Path.of("t");

  /** A little-endian, uncompressed, one-strip TIFF. {@code sampleFormat} 0 leaves the tag out. */
  static byte[] tiff(int w, int h, int spp, int bits, int photometric, int sampleFormat, byte[] pixels) {
    return tiff(w, h, spp, bits, photometric, sampleFormat, pixels, null);
  }

  /** {@link #tiff(int, int, int, int, int, int, byte[])} with an ICC profile tag when {@code icc} is not null. */
  static byte[] tiff(int w, int h, int spp, int bits, int photometric, int sampleFormat, byte[] pixels, byte[] icc) {
    int entries = (sampleFormat == 0 ? 10 : 11) + (icc == null ? 0 : 1);
    int ifd = 8, ifdLen = 2 + 12 * entries + 4;
    int bitsOff = ifd + ifdLen, fmtOff = bitsOff + 2 * spp, iccOff = fmtOff + 2 * spp;
    int pixOff = iccOff + (icc == null ? 0 : icc.length);
    ByteBuffer b = ByteBuffer.allocate(pixOff + pixels.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(ifd).putShort((short) entries);
    entry(b, 256, 4, 1, w);
    entry(b, 257, 4, 1, h);
    if (spp == 1) entry(b, 258, 3, 1, bits); else entry(b, 258, 3, spp, bitsOff);
    entry(b, 259, 3, 1, 1);
    entry(b, 262, 3, 1, photometric);
    entry(b, 273, 4, 1, pixOff);
    entry(b, 277, 3, 1, spp);
    entry(b, 278, 4, 1, h);
    entry(b, 279, 4, 1, pixels.length);
    entry(b, 284, 3, 1, 1);
    if (sampleFormat != 0) {
      if (spp == 1) entry(b, 339, 3, 1, sampleFormat); else entry(b, 339, 3, spp, fmtOff);
    }
    if (icc != null) entry(b, 34675, 7, icc.length, iccOff);
    b.putInt(0);
    for (int i = 0; i < spp; i++) b.putShort((short) bits);
    for (int i = 0; i < spp; i++) b.putShort((short) sampleFormat);
    if (icc != null) b.put(icc);
    b.put(pixels);
    return b.array();
  }

  private static void entry(ByteBuffer b, int tag, int type, int count, int value) {
    b.putShort((short) tag).putShort((short) type).putInt(count);
    if (type == 3 && count == 1) b.putShort((short) value).putShort((short) 0); else b.putInt(value);
  }

  /** 2×1 RGB float32 pixels: (0.25, 0.5, 0.75) and (0.1, 0.2, 0.3). */
  private static byte[] floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) b.putFloat(f);
    return b.array();
  }

  @Test
  void floatTiffsReadAsRgbAndNonFiniteSamplesAreRefused() throws Exception {
    Image img = Images.decode(tiff(2, 1, 3, 32, 2, 3, floats(0.25f, 0.5f, 0.75f, 0.1f, 0.2f, 0.3f)), NAME,
        ReadOptions.DEFAULT.withMinSide(1));
    assertEquals(0.25f, img.rgb()[0], 0f);
    assertEquals(0.5f, img.rgb()[2], 0f);
    assertEquals(0.3f, img.rgb()[5], 0f);
    ImageReadException e = assertThrows(ImageReadException.class, () -> Images.decode(
        tiff(2, 1, 3, 32, 2, 3, floats(0.25f, Float.NaN, 0.75f, 0.1f, 0.2f, 0.3f)), NAME,
        ReadOptions.DEFAULT.withMinSide(1)));
    assertTrue(e.getMessage().contains("NaN or infinite"), e.getMessage());
    assertThrows(ImageReadException.class, () -> Images.decode(
        tiff(2, 1, 3, 32, 2, 3, floats(0.25f, 0.5f, 0.75f, 0.1f, Float.POSITIVE_INFINITY, 0.3f)), NAME,
        ReadOptions.DEFAULT.withMinSide(1)));
    // float64: the JDK gives it a placeholder colour space that the generic conversion garbled
    ByteBuffer d = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
    for (double v : new double[] {0.25, 0.5, 0.75, 0.1, 0.2, 0.3}) d.putDouble(v);
    Image dbl = Images.decode(tiff(2, 1, 3, 64, 2, 3, d.array()), NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertEquals(0.25f, dbl.rgb()[0], 0f);
    assertEquals(0.2f, dbl.rgb()[3], 0f); // planar: R R G G B B
  }

  @Test
  void unsignedThirtyTwoBitTiffUsesTheWholeRange() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : new long[] {0xffffffffL, 0x80000000L, 0x40000000L, 0, 0xc0000000L, 0x10000000L}) b.putInt((int) v);
    for (int fmt : new int[] {0, 1}) { // SampleFormat absent or explicitly unsigned
      Image img = Images.decode(tiff(2, 1, 3, 32, 2, fmt, b.array()), NAME, ReadOptions.DEFAULT.withMinSide(1));
      assertEquals(1f, img.rgb()[0], 1e-6f, "format " + fmt);
      assertEquals(0.5f, img.rgb()[2], 1e-6f, "format " + fmt); // 2^31 read as a negative int before
      assertEquals(0.25f, img.rgb()[4], 1e-6f, "format " + fmt);
      assertEquals(0.75f, img.rgb()[3], 1e-6f, "format " + fmt);
    }
  }

  @Test
  void gifIsRefusedLikeTheOtherUnlistedFormats() throws Exception {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_INDEXED), "gif", o);
    ImageReadException e = assertThrows(ImageReadException.class,
        () -> Images.decode(o.toByteArray(), NAME, ReadOptions.DEFAULT));
    assertTrue(e.getMessage().contains("GIF is not a supported input"), e.getMessage());
  }

  @Test
  void cmykLabAndSignedTiffsAreRefused() {
    byte[] px4 = {10, 20, 30, 40, 50, 60, 70, 80};
    ImageReadException cmyk = assertThrows(ImageReadException.class, () -> Images.decode(
        tiff(2, 1, 4, 8, 5, 0, px4), NAME, ReadOptions.DEFAULT.withMinSide(1)));
    assertTrue(cmyk.getMessage().contains("CMYK TIFF"), cmyk.getMessage());
    byte[] px3 = {50, 0, 0, 60, 10, -10};
    ImageReadException lab = assertThrows(ImageReadException.class, () -> Images.decode(
        tiff(2, 1, 3, 8, 8, 0, px3), NAME, ReadOptions.DEFAULT.withMinSide(1)));
    assertTrue(lab.getMessage().contains("CIELab"), lab.getMessage());
    ImageReadException signed = assertThrows(ImageReadException.class, () -> Images.decode(
        tiff(2, 1, 3, 8, 2, 2, px3), NAME, ReadOptions.DEFAULT.withMinSide(1)));
    assertTrue(signed.getMessage().contains("signed"), signed.getMessage());
  }

  /** A 2×2 8-bit RGB PNG of one colour, with an iCCP chunk holding {@code profile} when it is not null. */
  private static byte[] png(int r, int g, int b, byte[] profile) throws Exception {
    BufferedImage bi = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 2; y++) for (int x = 0; x < 2; x++) bi.setRGB(x, y, (r << 16) | (g << 8) | b);
    return withProfile(bi, profile);
  }

  /** {@code bi} as PNG, with an iCCP chunk holding {@code profile} when it is not null. */
  private static byte[] withProfile(BufferedImage bi, byte[] profile) throws Exception {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ImageIO.write(bi, "png", o);
    byte[] p = o.toByteArray();
    if (profile == null) return p;
    Deflater def = new Deflater();
    def.setInput(profile);
    def.finish();
    byte[] buf = new byte[profile.length + 1024];
    int n = def.deflate(buf);
    def.end();
    ByteArrayOutputStream chunk = new ByteArrayOutputStream();
    chunk.write("icc\0\0".getBytes(StandardCharsets.ISO_8859_1)); // name, NUL, compression method 0
    chunk.write(buf, 0, n);
    return ExifData.afterIhdr(p, "iCCP", chunk.toByteArray()); // the iCCP chunk goes right after IHDR
  }

  @Test
  void pngIccProfilesAreAppliedWhenTheyAreNotSrgb() throws Exception {
    // The JDK's linear-RGB profile is described as "linear sRGB": judged by its name it passed as sRGB before
    byte[] linear = ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
    Image lin = Images.decode(png(128, 64, 32, linear), NAME, ReadOptions.DEFAULT);
    assertTrue(lin.metadata().colorNote().startsWith("converted"), lin.metadata().colorNote());
    assertEquals(Srgb.fromLinear(128 / 255.0), lin.rgb()[0], 3 / 255f);
    assertEquals(Srgb.fromLinear(32 / 255.0), lin.rgb()[8], 3 / 255f);
    // an sRGB profile (a copy of the JDK's, so not the sRGB singleton) changes nothing
    byte[] srgb = ICC_Profile.getInstance(ColorSpace.CS_sRGB).getData();
    Image s = Images.decode(png(128, 64, 32, srgb), NAME, ReadOptions.DEFAULT);
    assertEquals(128 / 255f, s.rgb()[0], 0f, s.metadata().colorNote());
    assertEquals(32 / 255f, s.rgb()[8], 0f);
    // a corrupt profile is ignored: the pixels as sRGB
    byte[] junk = new byte[200];
    Image j = Images.decode(png(128, 64, 32, junk), NAME, ReadOptions.DEFAULT);
    assertEquals(128 / 255f, j.rgb()[0], 0f);
  }

  /**
   * A 16-bit image with a profile is converted in 16 bits. Through 8-bit RGB (before session 35) a dark 16-bit ramp
   * tagged Adobe RGB kept 7 distinct values in a row of 320, which enhancement stretched into bands.
   */
  @Test
  void sixteenBitProfiledImagesKeepTheirLevels() throws Exception {
    int w = 320;
    java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(
        ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, java.awt.Transparency.OPAQUE,
        java.awt.image.DataBuffer.TYPE_USHORT);
    BufferedImage bi = new BufferedImage(cm, cm.createCompatibleWritableRaster(w, 1), false, null);
    for (int x = 0; x < w; x++) {
      int v = 200 + 10 * x; // 200 .. 3390 of 65535: a dark ramp, linear light (the profile says so)
      bi.getRaster().setPixel(x, 0, new int[] {v, v, v});
    }
    byte[] linear = ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
    Image img = Images.decode(withProfile(bi, linear), NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertTrue(img.metadata().colorNote().startsWith("converted"), img.metadata().colorNote());
    assertEquals(16, img.metadata().bitDepth());
    java.util.Set<Float> levels = new java.util.HashSet<>();
    float[] r = img.rgb();
    for (int x = 0; x < w; x++) {
      levels.add(r[x]);
      assertEquals(Srgb.fromLinear((200 + 10 * x) / 65535.0), r[x], 2e-3f, "x " + x);
      if (x > 0) assertTrue(r[x] >= r[x - 1], "monotonic at x " + x);
    }
    assertTrue(levels.size() > 250, levels.size() + " levels of " + w);
  }

  /**
   * A grey PNG's own grey profile is applied (it was ignored: a linear-grey image read as sRGB grey, the photo audit of
   * session 35); an untagged grey PNG and the same pixels tagged with an sRGB-like curve stay as they are.
   */
  @Test
  void greyProfilesAreApplied() throws Exception {
    BufferedImage g = new BufferedImage(4, 1, BufferedImage.TYPE_BYTE_GRAY);
    g.getRaster().setSamples(0, 0, 4, 1, 0, new int[] {0, 32, 128, 255});
    byte[] linear = ICC_Profile.getInstance(ColorSpace.CS_GRAY).getData(); // the JDK's grey is linear (gamma 1.0)
    Image lin = Images.decode(withProfile(g, linear), NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertTrue(lin.metadata().gray() && lin.metadata().colorNote().startsWith("gray, converted"),
        lin.metadata().colorNote());
    int[] k = {0, 32, 128, 255};
    for (int i = 0; i < 4; i++) assertEquals(Srgb.fromLinear(k[i] / 255.0), lin.rgb()[i], 1e-4, "value " + k[i]);
    Image plain = Images.decode(withProfile(g, null), NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertEquals("gray", plain.metadata().colorNote());
    assertEquals(128 / 255f, plain.rgb()[2], 0f);
  }

  /**
   * 16-bit images of a gamma profile convert in floating point (matrix and tone curves): through the JDK's colour
   * management the same ramp tagged Adobe RGB kept 98 levels of 320 (the feature audit, session 35). Uses the Adobe
   * RGB compatible profile Debian's icc-profiles-free installs; skipped where it is not.
   */
  @Test
  void sixteenBitGammaProfilesKeepTheDarkLevels() throws Exception {
    Path icc = Path.of("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc");
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(icc), "no " + icc);
    ICC_Profile adobe = ICC_Profile.getInstance(java.nio.file.Files.readAllBytes(icc));
    int w = 320;
    java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(
        ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, java.awt.Transparency.OPAQUE,
        java.awt.image.DataBuffer.TYPE_USHORT);
    BufferedImage bi = new BufferedImage(cm, cm.createCompatibleWritableRaster(w, 1), false, null);
    for (int x = 0; x < w; x++) bi.getRaster().setPixel(x, 0, new int[] {200 + 10 * x, 100 + 5 * x, 300 + 8 * x});
    Image img = Images.decode(withProfile(bi, adobe.getData()), NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertTrue(img.metadata().colorNote().startsWith("converted"), img.metadata().colorNote());
    // The exact conversion through the JDK's float path (ColorSpace.toCIEXYZ / sRGB fromCIEXYZ), pixel by pixel.
    ColorSpace acs = new java.awt.color.ICC_ColorSpace(adobe);
    ColorSpace srgb = ColorSpace.getInstance(ColorSpace.CS_sRGB);
    java.util.Set<Float> levels = new java.util.HashSet<>();
    float[] r = img.rgb();
    for (int x = 0; x < w; x++) {
      float[] want = srgb.fromCIEXYZ(acs.toCIEXYZ(new float[] {(200 + 10 * x) / 65535f, (100 + 5 * x) / 65535f,
          (300 + 8 * x) / 65535f}));
      levels.add(r[x]);
      if (x > 0) assertTrue(r[x] >= r[x - 1], "monotonic at x " + x);
      assertEquals(want[0], r[x], 0.02f, "red at x " + x);
    }
    assertTrue(levels.size() > 300, levels.size() + " levels of " + w);
  }

  /**
   * {@code bi} as JPEG with {@code profile} split into {@code parts} APP2 {@code ICC_PROFILE} segments, the segment
   * numbered {@code missing} left out (0: none).
   */
  private static byte[] jpegWithProfile(BufferedImage bi, byte[] profile, int parts, int missing) throws Exception {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ImageIO.write(bi, "jpeg", o);
    byte[] jpg = o.toByteArray();
    int step = (profile.length + parts - 1) / parts;
    for (int k = parts; k >= 1; k--) { // each goes right after SOI (and JFIF's APP0): the last first
      if (k == missing) continue;
      ByteArrayOutputStream seg = new ByteArrayOutputStream();
      seg.write("ICC_PROFILE\0".getBytes(StandardCharsets.ISO_8859_1));
      seg.write(k);
      seg.write(parts);
      seg.write(profile, (k - 1) * step, Math.min(step, profile.length - (k - 1) * step));
      jpg = ExifData.afterSoi(jpg, 0xe2, seg.toByteArray());
    }
    return jpg;
  }

  /** A flat 8×8 grey image of one value. */
  private static BufferedImage flatGrey(int v) {
    BufferedImage g = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
    g.getRaster().setSamples(0, 0, 8, 8, 0, new int[64]);
    for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) g.getRaster().setSample(x, y, 0, v);
    return g;
  }

  /**
   * A grey JPEG's ICC profile is applied as a grey PNG's is: the JDK's JPEG reader ignored it, so a linear-grey or
   * Gray Gamma 1.8 JPEG came out as if untagged while the same picture in PNG or TIFF was converted (the I/O audit).
   */
  @Test
  void greyJpegProfilesAreApplied() throws Exception {
    byte[] linear = ICC_Profile.getInstance(ColorSpace.CS_GRAY).getData(); // gamma 1.0
    Image img = Images.decode(jpegWithProfile(flatGrey(64), linear, 1, 0), NAME, ReadOptions.DEFAULT);
    assertTrue(img.metadata().gray() && img.metadata().colorNote().startsWith("gray, converted"),
        img.metadata().colorNote());
    assertEquals(Srgb.fromLinear(64 / 255.0), img.rgb()[0], 1.5 / 255, "a flat block decodes to its value");
  }

  /**
   * {@code profile} with its tone-curve tag {@code sig} (e.g. 'kTRC') pointing at a new 'para' tag of function type 0,
   * {@code Y = X^gamma}, appended at its end.
   */
  private static byte[] withParametricCurve(byte[] profile, String sig, double gamma) {
    ByteBuffer para = ByteBuffer.allocate(16).put("para".getBytes(StandardCharsets.ISO_8859_1)).putInt(0);
    para.putShort((short) 0).putShort((short) 0).putInt((int) Math.round(gamma * 65536));
    int at = (profile.length + 3) & ~3;
    ByteBuffer p = ByteBuffer.allocate(at + 16).put(profile);
    p.position(at).put(para.array());
    p.putInt(0, at + 16);
    int tags = p.getInt(128);
    for (int i = 0; i < tags; i++) {
      int e = 132 + 12 * i;
      if (new String(p.array(), e, 4, StandardCharsets.ISO_8859_1).equals(sig)) p.putInt(e + 4, at).putInt(e + 8, 16);
    }
    return p.array();
  }

  /**
   * A parametric tone curve ('para') is applied: the JDK gives it as an empty table, which read as the identity, so a
   * grey JPEG or PNG of such a Gray Gamma 1.8 profile was "converted" as if it were linear grey (mean 137 instead of
   * 81 for a flat 64), and a 16-bit RGB matrix profile's curves likewise.
   */
  @Test
  void parametricToneCurvesAreApplied() throws Exception {
    byte[] g18 = withParametricCurve(ICC_Profile.getInstance(ColorSpace.CS_GRAY).getData(), "kTRC", 1.8);
    double want = Srgb.fromLinear(Math.pow(64 / 255.0, 1.8));
    Image jpg = Images.decode(jpegWithProfile(flatGrey(64), g18, 1, 0), NAME, ReadOptions.DEFAULT);
    assertTrue(jpg.metadata().colorNote().startsWith("gray, converted"), jpg.metadata().colorNote());
    assertEquals(want, jpg.rgb()[0], 1.5 / 255);
    Image png = Images.decode(withProfile(flatGrey(64), g18), NAME, ReadOptions.DEFAULT);
    assertEquals(want, png.rgb()[0], 1e-4);
    byte[] rgb22 = ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
    for (String sig : new String[] {"rTRC", "gTRC", "bTRC"}) rgb22 = withParametricCurve(rgb22, sig, 2.2);
    java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(
        ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, java.awt.Transparency.OPAQUE,
        java.awt.image.DataBuffer.TYPE_USHORT);
    BufferedImage bi = new BufferedImage(cm, cm.createCompatibleWritableRaster(2, 1), false, null);
    bi.getRaster().setPixel(0, 0, new int[] {20000, 20000, 20000});
    bi.getRaster().setPixel(1, 0, new int[] {40000, 40000, 40000});
    Image deep = Images.decode(withProfile(bi, rgb22), NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertEquals(Srgb.fromLinear(Math.pow(20000 / 65535.0, 2.2)), deep.rgb()[0], 2e-3, deep.metadata().toString());
    assertEquals(Srgb.fromLinear(Math.pow(40000 / 65535.0, 2.2)), deep.rgb()[1], 2e-3);
  }

  /**
   * One rule for a profile that cannot be used, in every format: ignored, the pixels read as sRGB, and a notice says
   * so. Before: a JPEG's unlinkable profile was noted as converted though the pixels were not, the same profile in a
   * PNG refused the file (CMMException: LCMS error 13), TIFF dropped it unnoted, a corrupt tag table passed unnoted,
   * a JPEG missing one of its profile's APP2 segments was refused ("invalid number of icc markers"), and a WebP with
   * either profile was refused ("corrupt webp header").
   */
  @Test
  void unusableProfilesAreIgnoredWithANotice() throws Exception {
    byte[] srgb = ICC_Profile.getInstance(ColorSpace.CS_sRGB).getData();
    byte[] unlinkable = new byte[132]; // an RGB display profile without a single tag: parses, does not link
    System.arraycopy(srgb, 0, unlinkable, 0, 128);
    ByteBuffer.wrap(unlinkable).putInt(0, 132).putInt(128, 0);
    byte[] corrupt = srgb.clone(); // the first tag's offset far past the end
    ByteBuffer.wrap(corrupt).putInt(128 + 8, 0x7fffff00);
    BufferedImage rgb = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) rgb.setRGB(x, y, 0x804020);
    byte[] linear = ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
    byte[] px = {(byte) 128, 64, 32, (byte) 128, 64, 32, (byte) 128, 64, 32, (byte) 128, 64, 32};
    byte[][] files = {jpegWithProfile(rgb, unlinkable, 1, 0), png(128, 64, 32, unlinkable),
        tiff(2, 2, 3, 8, 2, 0, px, unlinkable), jpegWithProfile(rgb, corrupt, 1, 0), png(128, 64, 32, corrupt),
        tiff(2, 2, 3, 8, 2, 0, px, corrupt), jpegWithProfile(rgb, linear, 3, 2)};
    for (byte[] f : files) {
      Image img = Images.decode(f, NAME, ReadOptions.DEFAULT.withMinSide(1));
      Image.Metadata m = img.metadata();
      String what = m.format() + " " + m;
      assertEquals("sRGB", m.colorNote(), what);
      assertTrue(m.notice().contains("ICC profile") && m.notice().contains("ignored (")
          && m.notice().endsWith("the pixels read as sRGB"), what);
      assertEquals(128 / 255f, img.rgb()[0], 3 / 255f, what);
    }
    // the same profile whole is converted
    Image whole = Images.decode(jpegWithProfile(rgb, linear, 3, 0), NAME, ReadOptions.DEFAULT);
    assertTrue(whole.metadata().colorNote().startsWith("converted"), whole.metadata().toString());
    assertEquals("", whole.metadata().notice());
    // WebP: TwelveMonkeys' reader refused the file for either profile ("corrupt webp header")
    for (byte[] bad : new byte[][] {unlinkable, corrupt}) {
      Image w = Images.decode(webpWithProfile(bad), NAME, ReadOptions.DEFAULT);
      assertEquals("sRGB", w.metadata().colorNote());
      assertTrue(w.metadata().notice().endsWith("the pixels read as sRGB"), w.metadata().toString());
      assertTrue(w.metadata().notice().contains("ICC profile"), w.metadata().toString());
      assertEquals(40 / 255f, w.rgb()[1], 0f, "pixel (1, 0) as stored");
    }
    // a grey profile whose tone curve is of a type not read here: passed as sRGB grey unnoted
    byte[] odd = withParametricCurve(ICC_Profile.getInstance(ColorSpace.CS_GRAY).getData(), "kTRC", 1.8);
    System.arraycopy("sf32".getBytes(StandardCharsets.ISO_8859_1), 0, odd, odd.length - 16, 4);
    Image g = Images.decode(withProfile(flatGrey(64), odd), NAME, ReadOptions.DEFAULT);
    assertEquals("gray", g.metadata().colorNote());
    assertTrue(g.metadata().notice().contains("ignored (tone curve of type 'sf32')"), g.metadata().toString());
    assertEquals(64 / 255f, g.rgb()[0], 0f);
    // a grey profile without a tag: its colour model links it at once, and the CMMException escaped the reader
    byte[] bare = new byte[132];
    System.arraycopy(ICC_Profile.getInstance(ColorSpace.CS_GRAY).getData(), 0, bare, 0, 128);
    ByteBuffer.wrap(bare).putInt(0, 132).putInt(128, 0);
    for (byte[] f : new byte[][] {withProfile(flatGrey(64), bare), jpegWithProfile(flatGrey(64), bare, 1, 0)}) {
      Image b = Images.decode(f, NAME, ReadOptions.DEFAULT);
      assertEquals("gray", b.metadata().colorNote());
      assertTrue(b.metadata().notice().endsWith("the pixels read as sRGB"), b.metadata().toString());
      assertEquals(64 / 255f, b.rgb()[0], 1.5f / 255);
    }
    Image w = Images.decode(webpWithProfile(linear), NAME, ReadOptions.DEFAULT);
    assertTrue(w.metadata().colorNote().startsWith("converted"), w.metadata().toString());
    assertEquals(Srgb.fromLinear(40 / 255.0), w.rgb()[1], 2 / 255f);
  }

  /**
   * The 6×4 lossless WebP of {@code ImagesTest.readsWebpLosslessAndLossy} (pixel (x, y) = (40x, 60y, 17xy mod 256)) in
   * the extended format, with an ICCP chunk holding {@code profile}.
   */
  private static byte[] webpWithProfile(byte[] profile) throws Exception {
    byte[] simple = java.util.Base64.getDecoder().decode(
        "UklGRi4AAABXRUJQVlA4TCIAAAAvBcAAAJkyRPQ/NhHR/4BCthGggc1f7B6GQZmImACgFMwP");
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write("WEBP".getBytes(StandardCharsets.ISO_8859_1));
    riffChunk(body, "VP8X", new byte[] {0x20, 0, 0, 0, 5, 0, 0, 3, 0, 0}); // ICC flag; canvas 6×4 (minus one)
    riffChunk(body, "ICCP", profile);
    body.write(simple, 12, simple.length - 12); // the VP8L chunk
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.write("RIFF".getBytes(StandardCharsets.ISO_8859_1));
    o.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(body.size()).array());
    body.writeTo(o);
    return o.toByteArray();
  }

  private static void riffChunk(ByteArrayOutputStream o, String id, byte[] data) throws Exception {
    o.write(id.getBytes(StandardCharsets.ISO_8859_1));
    o.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(data.length).array());
    o.write(data);
    if (data.length % 2 == 1) o.write(0);
  }

  /**
   * A PNG's gAMA chunk is honoured when no iCCP or sRGB chunk is there: a 16-bit linear PNG (gAMA 1.0) came out far
   * too dark and unnoted (mean 39.9 against 120.9 for the same scene stored as sRGB: the I/O audit). gAMA 1/2.2 is
   * taken as sRGB, and an sRGB chunk beside gAMA wins.
   */
  @Test
  void pngGammaIsHonoured() throws Exception {
    java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(
        ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, java.awt.Transparency.OPAQUE,
        java.awt.image.DataBuffer.TYPE_USHORT);
    BufferedImage bi = new BufferedImage(cm, cm.createCompatibleWritableRaster(4, 1), false, null);
    int[] v = {0, 1000, 16384, 65535};
    for (int x = 0; x < 4; x++) bi.getRaster().setPixel(x, 0, new int[] {v[x], v[x], v[x] / 2});
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ImageIO.write(bi, "png", o);
    byte[] plain = o.toByteArray();
    byte[] linear = ExifData.afterIhdr(plain, "gAMA", ByteBuffer.allocate(4).putInt(100000).array());
    Image img = Images.decode(linear, NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertTrue(img.metadata().colorNote().startsWith("converted from PNG gAMA 1.00000"), img.metadata().colorNote());
    for (int x = 0; x < 4; x++) {
      assertEquals(Srgb.fromLinear(v[x] / 65535.0), img.rgb()[x], 1e-5, "red " + v[x]);
      assertEquals(Srgb.fromLinear(v[x] / 2 / 65535.0), img.rgb()[8 + x], 1e-5, "blue " + v[x] / 2);
    }
    byte[] srgbLike = ExifData.afterIhdr(plain, "gAMA", ByteBuffer.allocate(4).putInt(45455).array());
    Image s = Images.decode(srgbLike, NAME, ReadOptions.DEFAULT.withMinSide(1));
    assertEquals("sRGB", s.metadata().colorNote());
    assertEquals(16384 / 65535f, s.rgb()[2], 0f);
    byte[] both = ExifData.afterIhdr(linear, "sRGB", new byte[] {0});
    assertEquals("sRGB", Images.decode(both, NAME, ReadOptions.DEFAULT.withMinSide(1)).metadata().colorNote());
  }
}
