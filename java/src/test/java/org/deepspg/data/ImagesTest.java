/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {
  /** 8-bit codecs are lossless for PNG/BMP/TIFF: a value k/255 must come back bit-exact as a float. */
  private static final float EXACT = 0f;
  /** One 8-bit step; float rounding of k/255 vs k/65535 never reaches it. */
  private static final float ONE_LSB_8 = 1f / 255f;
  /** JPEG at quality 95 on a smooth 8-bit image: per-pixel error stays well under 8 levels of 255. */
  private static final float JPEG_TOL = 8f / 255f;

  @TempDir Path dir;

  /** Random 8-bit RGB image with values k/255. */
  static Image random8(int w, int h, long seed) {
    Random r = new Random(seed);
    float[] p = new float[3 * w * h];
    for (int i = 0; i < p.length; i++) p[i] = r.nextInt(256) / 255f;
    return Image.of(w, h, p);
  }

  static void assertClose(float[] a, float[] b, float tol, String what) {
    assertEquals(a.length, b.length, what + ": length");
    float max = 0;
    int at = -1;
    for (int i = 0; i < a.length; i++) {
      float d = Math.abs(a[i] - b[i]);
      if (d > max) { max = d; at = i; }
    }
    final float m = max;
    final int idx = at;
    assertTrue(max <= tol, () -> what + ": max error " + m + " at " + idx + " > " + tol);
  }

  @Test
  void pngRoundTrip8BitIsExact() throws Exception {
    Image img = random8(7, 5, 1);
    Path p = dir.resolve("a.png");
    Images.write(img, p);
    Image back = Images.read(p);
    assertEquals(7, back.width());
    assertEquals(5, back.height());
    assertEquals("png", back.metadata().format());
    assertEquals(8, back.metadata().bitDepth());
    assertFalse(back.metadata().gray());
    assertNull(back.alpha());
    assertClose(img.rgb(), back.rgb(), EXACT, "png8");
  }

  @Test
  void png16BitStays16Bit() throws Exception {
    int w = 6, h = 4;
    Random r = new Random(2);
    float[] p = new float[3 * w * h];
    for (int i = 0; i < p.length; i++) p[i] = r.nextInt(65536) / 65535f;
    Image img = new Image(w, h, p, null, Image.Metadata.MEMORY.withBitDepth(16));
    Path f = dir.resolve("deep.png");
    Images.write(img, f);
    BufferedImage raw = ImageIO.read(f.toFile());
    assertEquals(16, raw.getColorModel().getComponentSize(0), "file holds 16-bit samples");
    Image back = Images.read(f);
    assertEquals(16, back.metadata().bitDepth());
    // 16-bit values must survive: error below a 16-bit step, far below an 8-bit one.
    assertClose(img.rgb(), back.rgb(), 0.5f / 65535f, "png16");
    // and writing it again keeps 16 bits (16-bit in -> 16-bit out)
    Path g = dir.resolve("deep2.png");
    Images.write(back, g);
    assertEquals(16, ImageIO.read(g.toFile()).getColorModel().getComponentSize(0));
    // forcing 8 bits works too
    Path e = dir.resolve("deep8.png");
    Images.write(back, e, WriteOptions.DEFAULT.withBitDepth(8));
    assertEquals(8, ImageIO.read(e.toFile()).getColorModel().getComponentSize(0));
  }

  @Test
  void tiff16BitAndBmpRoundTrip() throws Exception {
    Image img = random8(9, 3, 3);
    Path bmp = dir.resolve("a.bmp");
    Images.write(img, bmp);
    Image b = Images.read(bmp);
    assertEquals("bmp", b.metadata().format());
    assertClose(img.rgb(), b.rgb(), EXACT, "bmp");

    Image deep = new Image(9, 3, img.rgb(), null, Image.Metadata.MEMORY.withBitDepth(16));
    Path tif = dir.resolve("a.tif");
    Images.write(deep, tif);
    Image t = Images.read(tif);
    assertEquals("tiff", t.metadata().format());
    assertEquals(16, t.metadata().bitDepth());
    assertClose(img.rgb(), t.rgb(), 0.5f / 65535f, "tiff16");
  }

  @Test
  void grayStaysGray() throws Exception {
    int w = 5, h = 4;
    BufferedImage g = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) g.getRaster().setSample(x, y, 0, 10 * (x + w * y));
    Path p = dir.resolve("g.png");
    ImageIO.write(g, "png", p.toFile());
    Image img = Images.read(p);
    assertTrue(img.metadata().gray());
    int n = w * h;
    for (int i = 0; i < n; i++) {
      // raw grey samples, not Java's linear-grey-to-sRGB mapping
      assertEquals(10 * i / 255f, img.rgb()[i], 1e-7f);
      assertEquals(img.rgb()[i], img.rgb()[n + i]);
      assertEquals(img.rgb()[i], img.rgb()[2 * n + i]);
    }
    Path out = dir.resolve("g2.png");
    Images.write(img, out);
    BufferedImage back = ImageIO.read(out.toFile());
    assertEquals(1, back.getRaster().getNumBands(), "written back as one grey channel");
    assertClose(img.rgb(), Images.read(out).rgb(), EXACT, "gray round trip");

    Path jpg = dir.resolve("g.jpg");
    Images.write(img, jpg);
    assertEquals(1, ImageIO.read(jpg.toFile()).getRaster().getNumBands(), "grey JPEG");
    assertTrue(Images.read(jpg).metadata().gray());
  }

  @Test
  void alphaIsKeptAndReattached() throws Exception {
    int w = 4, h = 3;
    BufferedImage a = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) a.setRGB(x, y, ((x * 60) << 24) | (200 << 16) | (y * 50 << 8) | 7);
    Path p = dir.resolve("alpha.png");
    ImageIO.write(a, "png", p.toFile());
    Image img = Images.read(p);
    assertTrue(img.hasAlpha());
    assertEquals(60 / 255f, img.alpha()[1], 1e-7f);
    assertEquals(200 / 255f, img.rgb()[1], 1e-7f, "straight (not premultiplied) colour");
    Path out = dir.resolve("alpha2.png");
    Images.write(img, out);
    Image back = Images.read(out);
    assertNotNull(back.alpha());
    assertClose(img.alpha(), back.alpha(), EXACT, "alpha");
    assertClose(img.rgb(), back.rgb(), EXACT, "rgb under alpha");
    // JPEG cannot store alpha: it is dropped, colours stay
    Path jpg = dir.resolve("alpha.jpg");
    Images.write(img, jpg);
    assertFalse(Images.read(jpg).hasAlpha());
  }

  /** A premultiplied image is read un-premultiplied, and the caller's image is left as it was (threads may share it). */
  @Test
  void premultipliedImageIsReadWithoutChangingIt() throws Exception {
    BufferedImage pre = new BufferedImage(3, 2, BufferedImage.TYPE_INT_ARGB_PRE);
    BufferedImage straight = new BufferedImage(3, 2, BufferedImage.TYPE_INT_ARGB);
    int argb = (128 << 24) | (100 << 16) | (60 << 8) | 30;
    for (int y = 0; y < 2; y++) {
      for (int x = 0; x < 3; x++) {
        pre.setRGB(x, y, argb);
        straight.setRGB(x, y, argb);
      }
    }
    int[] before = pre.getRaster().getPixels(0, 0, 3, 2, (int[]) null);
    Image a = Images.fromBufferedImage(pre, "memory", null);
    assertArrayEquals(before, pre.getRaster().getPixels(0, 0, 3, 2, (int[]) null), "the caller's samples");
    assertTrue(pre.isAlphaPremultiplied());
    Image b = Images.fromBufferedImage(straight, "memory", null);
    assertArrayEquals(b.rgb(), a.rgb(), 1.5f / 255);
    assertArrayEquals(b.alpha(), a.alpha(), 0f);
    assertArrayEquals(a.rgb(), Images.fromBufferedImage(pre, "memory", null).rgb(), 0f, "a second read, the same");
  }

  /** A thread whose interrupt flag is set (a cancelled task going on) still reads images. */
  @Test
  void readsInAnInterruptedThread() throws Exception {
    Image img = random8(40, 30, 11);
    Path png = dir.resolve("i.png");
    Path jpg = dir.resolve("i.jpg");
    Images.write(img, png);
    Images.write(img, jpg);
    Image p0 = Images.read(png);
    Image j0 = Images.read(jpg);
    Thread.currentThread().interrupt();
    try {
      assertArrayEquals(p0.rgb(), Images.read(png).rgb());
      assertArrayEquals(j0.rgb(), Images.read(jpg).rgb());
      assertArrayEquals(new int[] {40, 30}, Images.probe(jpg, ReadOptions.DEFAULT));
      assertTrue(Thread.currentThread().isInterrupted(), "the flag is the caller's, left set");
    } finally {
      Thread.interrupted();
    }
  }

  /**
   * Every JPEG extension is read and written as JPEG: {@code .jfif} files were left out of folder runs and
   * {@code photo.jfif} given by name came out as PNG (the I/O audit).
   */
  @Test
  void everyJpegExtensionIsJpeg() throws Exception {
    Image img = random8(16, 8, 3);
    for (String ext : new String[] {"jpg", "jpeg", "jpe", "jfif", "JFIF"}) {
      Path f = dir.resolve("photo." + ext);
      assertTrue(Images.hasImageExtension(f), ext);
      assertTrue(Images.WRITE_EXTENSIONS.contains(Images.extension(f)), ext);
      assertEquals("jpeg", Images.formatForPath(f), ext);
      Images.write(img, f);
      byte[] bytes = Files.readAllBytes(f);
      assertEquals(0xd8, bytes[1] & 0xff, ext + " is written as JPEG");
      assertEquals("jpeg", Images.read(f).metadata().format(), ext);
    }
  }

  @Test
  void jpegRoundTripAndQuality() throws Exception {
    int w = 32, h = 24;
    float[] p = new float[3 * w * h];
    for (int c = 0; c < 3; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
      p[(c * h + y) * w + x] = (float) (0.2 + 0.6 * (x + y * (c + 1)) / (w + h * 3.0));
    }
    Image img = Image.of(w, h, p);
    byte[] q95 = Images.encode(img, "jpeg", WriteOptions.DEFAULT);
    byte[] q30 = Images.encode(img, "jpeg", WriteOptions.DEFAULT.withJpegQuality(30));
    assertFalse(Arrays.equals(q95, q30), "quality changes the bytes");
    Image back = Images.decode(q95, dir.resolve("mem.jpg"), ReadOptions.DEFAULT);
    assertEquals("jpeg", back.metadata().format());
    assertClose(img.rgb(), back.rgb(), JPEG_TOL, "jpeg q95");
    // From quality 90 colour is kept at full resolution (4:4:4): every component sampled 1x1; below, 4:2:0.
    assertEquals("11 11 11", jpegSampling(q95));
    assertEquals("22 11 11", jpegSampling(Images.encode(img, "jpeg", WriteOptions.DEFAULT.withJpegQuality(89))));
    assertEquals("11", jpegSampling(Images.encode(img.withMetadata(img.metadata().withGray(true)), "jpeg",
        WriteOptions.DEFAULT)), "grey: one component");
    // Red and blue columns one pixel wide: 4:2:0 averages them away, 4:4:4 keeps them.
    float[] stripes = new float[3 * w * h];
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) stripes[((x & 1) == 0 ? 0 : 2 * h) * w + y * w + x] = 0.8f;
    Image st = Image.of(w, h, stripes);
    double full = org.deepspg.eval.Metrics.psnr(st.rgb(), Images.decode(Images.encode(st, "jpeg", WriteOptions.DEFAULT),
        dir.resolve("s.jpg"), ReadOptions.DEFAULT).rgb());
    assertTrue(full > 30, "4:4:4 stripes: " + full + " dB");
  }

  /** The sampling factors (hex, H then V) of a baseline JPEG's components, from its SOF0 segment. */
  private static String jpegSampling(byte[] jpg) {
    for (int i = 2; i + 4 < jpg.length; ) {
      int marker = jpg[i + 1] & 0xff, len = (jpg[i + 2] & 0xff) << 8 | (jpg[i + 3] & 0xff);
      if (marker == 0xc0) {
        int n = jpg[i + 9] & 0xff;
        StringBuilder b = new StringBuilder();
        for (int c = 0; c < n; c++) {
          b.append(c == 0 ? "" : " ").append(String.format("%02x", jpg[i + 11 + 3 * c] & 0xff));
        }
        return b.toString();
      }
      i += 2 + len;
    }
    return "no SOF0";
  }

  @Test
  void readsWebpLosslessAndLossy() throws Exception {
    // Made with libwebp's cwebp 1.2.4 (Debian package "webp"): a 6x4 PNG with R = 40x, G = 60y,
    // B = (17xy) mod 256, encoded with -lossless -exact; and a flat (200, 100, 50) 16x16 image at -q 90.
    byte[] lossless = Base64.getDecoder().decode("UklGRi4AAABXRUJQVlA4TCIAAAAvBcAAAJkyRPQ/NhHR/4BCthGggc1f7B6GQZmImACgFMwP");
    byte[] lossy = Base64.getDecoder().decode(
        "UklGRj4AAABXRUJQVlA4IDIAAADQAQCdASoQABAAAMASJaACdLoB+AADsAD+2ib/7vN+09e09f1M//jKnyA/4yp/xcwAAA==");
    Path f = dir.resolve("p.webp");
    Files.write(f, lossless);
    Image img = Images.read(f);
    assertEquals("webp", img.metadata().format());
    assertEquals(6, img.width());
    assertEquals(4, img.height());
    int n = 24;
    for (int y = 0; y < 4; y++) for (int x = 0; x < 6; x++) {
      int i = y * 6 + x;
      assertEquals(x * 40 / 255f, img.rgb()[i], 1e-6f);
      assertEquals(y * 60 / 255f, img.rgb()[n + i], 1e-6f);
      assertEquals((x * y * 17) % 256 / 255f, img.rgb()[2 * n + i], 1e-6f);
    }
    Image flat = Images.decode(lossy, dir.resolve("flat.webp"), ReadOptions.DEFAULT);
    float[] mean = new float[3];
    for (int c = 0; c < 3; c++) for (int i = 0; i < 256; i++) mean[c] += flat.rgb()[c * 256 + i] / 256;
    // lossy VP8 + 4:2:0 chroma on a flat patch: within a few levels of the source colour
    assertEquals(200 / 255f, mean[0], 6 / 255f);
    assertEquals(100 / 255f, mean[1], 6 / 255f);
    assertEquals(50 / 255f, mean[2], 6 / 255f);
    assertThrows(IllegalArgumentException.class, () -> Images.write(img, dir.resolve("x.webp")));
  }

  /**
   * Still images only: an animated WebP (the reader decoded a lossy animation's frames as a flat green image, exit 0),
   * a multi-page TIFF (pages after the first were lost) and a camera raw file (its small preview was enhanced) are
   * refused by name. Found by the photo audit of session 35.
   */
  @Test
  void refusesAnimationsPagesAndRawPreviews() throws Exception {
    // Two 8x8 lossy frames (red, green), written by Pillow 9.4 (save_all, quality 50).
    byte[] anim = Base64.getDecoder().decode(
        "UklGRrgAAABXRUJQVlA4WAoAAAACAAAABwAABwAAQU5JTQYAAAAAAAAAAABBTk1GQgAAAAAAAAAAAAcAAAcAAGQAAAJWUDgg"
        + "KgAAADABAJ0BKggACAACwEwloAADcAD+7ZA//iLp7wCGf//npn/3L/9beoAAAEFOTUZCAAAAAAAAAAAABwAABwAAZAAAAFZQ"
        + "OCAqAAAANAEAnQEqCAAIAAAATCWgAANwAJv//4tD+3n/Brc1//+YJ/7/f9/vXEAA");
    ImageReadException a = assertThrows(ImageReadException.class,
        () -> Images.decode(anim, dir.resolve("a.webp"), ReadOptions.DEFAULT));
    assertTrue(a.getMessage().contains("animated WebP (2 frames)"), a.getMessage());
    // An APNG (acTL before IDAT: 3 frames) was read as its first frame, exit 0 (the I/O audit); a still PNG reads.
    ByteArrayOutputStream still = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), "png", still);
    byte[] apng = ExifData.afterIhdr(still.toByteArray(), "acTL", new byte[] {0, 0, 0, 3, 0, 0, 0, 0});
    ImageReadException ap = assertThrows(ImageReadException.class,
        () -> Images.decode(apng, dir.resolve("a.png"), ReadOptions.DEFAULT));
    assertTrue(ap.getMessage().contains("animated PNG (APNG, 3 frames) is not a supported input"), ap.getMessage());
    assertEquals(8, Images.decode(still.toByteArray(), dir.resolve("s.png"), ReadOptions.DEFAULT).width());
    // Two full pages written by the JDK's TIFF writer: refused; a page and a reduced-resolution thumbnail: read.
    BufferedImage page = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
    javax.imageio.ImageWriter w = ImageIO.getImageWritersByFormatName("tiff").next();
    ByteArrayOutputStream two = new ByteArrayOutputStream();
    try (javax.imageio.stream.ImageOutputStream out = ImageIO.createImageOutputStream(two)) {
      w.setOutput(out);
      w.prepareWriteSequence(null);
      w.writeToSequence(new javax.imageio.IIOImage(page, null, null), null);
      w.writeToSequence(new javax.imageio.IIOImage(page, null, null), null);
      w.endWriteSequence();
    } finally {
      w.dispose();
    }
    ImageReadException m = assertThrows(ImageReadException.class,
        () -> Images.decode(two.toByteArray(), dir.resolve("scan.tif"), ReadOptions.DEFAULT));
    assertTrue(m.getMessage().contains("multi-page TIFF (2 pages)"), m.getMessage());
    byte[] raw = tiffDirectories(new int[][] {{254, 0}, {50706, 0x01040000}}, new int[][] {{254, 1}});
    ImageReadException dng = assertThrows(ImageReadException.class, () -> Images.refuseTiffPages(raw, dir));
    assertTrue(dng.getMessage().contains("camera raw file (DNG)"), dng.getMessage());
    byte[] preview = tiffDirectories(new int[][] {{254, 1}}, new int[][] {{254, 0}});
    assertTrue(assertThrows(ImageReadException.class, () -> Images.refuseTiffPages(preview, dir)).getMessage()
        .contains("reduced-resolution preview"));
    Images.refuseTiffPages(tiffDirectories(new int[][] {{254, 0}}, new int[][] {{254, 1}}), dir); // a thumbnail
    Images.refuseTiffPages(tiffDirectories(new int[][] {{256, 640}, {257, 480}}, new int[][] {{254, 4}}), dir); // mask
    Images.refuseTiffPages(tiffDirectories(new int[][] {{256, 640}, {257, 480}}, new int[][] {{256, 160}, {257, 120}}),
        dir); // an unmarked thumbnail
    assertThrows(ImageReadException.class, () -> Images.refuseTiffPages(tiffDirectories(
        new int[][] {{256, 640}, {257, 480}}, new int[][] {{256, 640}, {257, 480}}), dir)); // two unmarked pages
    Images.refuseTiffPages(tiffDirectories(new int[][] {{262, 2}}), dir); // one page, no subfile type
  }

  /** Little-endian TIFF bytes holding only directories of LONG-typed {tag, value} entries (no pixel data). */
  private static byte[] tiffDirectories(int[][]... dirs) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
    for (int d = 0; d < dirs.length; d++) {
      b.putShort((short) dirs[d].length);
      for (int[] e : dirs[d]) b.putShort((short) e[0]).putShort((short) 4).putInt(1).putInt(e[1]);
      b.putInt(d + 1 < dirs.length ? b.position() + 4 : 0);
    }
    return Arrays.copyOf(b.array(), b.position());
  }

  @Test
  void nonSrgbColourSpaceIsConverted() throws Exception {
    ColorSpace lin = ColorSpace.getInstance(ColorSpace.CS_LINEAR_RGB);
    ComponentColorModel cm = new ComponentColorModel(lin, false, false, Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
    BufferedImage bi = new BufferedImage(cm, cm.createCompatibleWritableRaster(2, 2), false, null);
    for (int y = 0; y < 2; y++) for (int x = 0; x < 2; x++) for (int b = 0; b < 3; b++) bi.getRaster().setSample(x, y, b, 128);
    Image img = Images.fromBufferedImage(bi, "test", null);
    assertTrue(img.metadata().colorNote().startsWith("converted"), img.metadata().colorNote());
    // linear 128/255 = 0.502 is sRGB 0.735; the JDK's 8-bit colour management is within ~2 levels.
    assertEquals(Srgb.fromLinear(128 / 255.0), img.rgb()[0], 3 / 255f);
  }

  // ---- EXIF orientation ----

  /** TIFF block (big-endian) holding only IFD0 with the orientation tag. */
  static byte[] tiffWithOrientation(int o, boolean littleEndian) {
    byte[] t = new byte[8 + 2 + 12 + 4];
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(t)
        .order(littleEndian ? java.nio.ByteOrder.LITTLE_ENDIAN : java.nio.ByteOrder.BIG_ENDIAN);
    b.put(littleEndian ? (byte) 'I' : (byte) 'M').put(littleEndian ? (byte) 'I' : (byte) 'M');
    b.putShort((short) 42).putInt(8).putShort((short) 1);
    b.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) o).putShort((short) 0);
    b.putInt(0);
    return t;
  }

  static byte[] pngWithExif(byte[] png, byte[] tiff) {
    byte[] type = "eXIf".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.write(png, 0, 33); // signature + IHDR
    o.writeBytes(java.nio.ByteBuffer.allocate(4).putInt(tiff.length).array());
    o.writeBytes(type);
    o.writeBytes(tiff);
    CRC32 crc = new CRC32();
    crc.update(type);
    crc.update(tiff);
    o.writeBytes(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    o.write(png, 33, png.length - 33);
    return o.toByteArray();
  }

  static byte[] jpegWithExif(byte[] jpg, byte[] tiff) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.write(jpg, 0, 2); // SOI
    int len = 2 + 6 + tiff.length;
    o.write(0xff);
    o.write(0xe1);
    o.write(len >> 8);
    o.write(len & 0xff);
    o.writeBytes("Exif\0\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    o.writeBytes(tiff);
    o.write(jpg, 2, jpg.length - 2);
    return o.toByteArray();
  }

  /** Display transforms written from the EXIF text ("mirror horizontal", "rotate 90 CW", ...), as [H][W] grids. */
  static int[][] mirrorH(int[][] g) {
    int h = g.length, w = g[0].length;
    int[][] o = new int[h][w];
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) o[y][x] = g[y][w - 1 - x];
    return o;
  }

  static int[][] rotCw(int[][] g) {
    int h = g.length, w = g[0].length;
    int[][] o = new int[w][h];
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) o[x][h - 1 - y] = g[y][x];
    return o;
  }

  static int[][] expected(int[][] g, int o) {
    return switch (o) {
      case 1 -> g;
      case 2 -> mirrorH(g);
      case 3 -> rotCw(rotCw(g));
      case 4 -> mirrorH(rotCw(rotCw(g))); // mirror vertical
      case 5 -> rotCw(rotCw(rotCw(mirrorH(g)))); // mirror horizontal, then rotate 270 CW
      case 6 -> rotCw(g);
      case 7 -> rotCw(mirrorH(g)); // mirror horizontal, then rotate 90 CW
      default -> rotCw(rotCw(rotCw(g))); // 8: rotate 270 CW
    };
  }

  @Test
  void exifOrientationAllEightOnPng() throws Exception {
    int w = 3, h = 2;
    int[][] grid = new int[h][w];
    float[] p = new float[3 * w * h];
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
      grid[y][x] = 10 * (y * w + x) + 10;
      for (int c = 0; c < 3; c++) p[(c * h + y) * w + x] = grid[y][x] / 255f;
    }
    byte[] png = Images.encode(Image.of(w, h, p), "png", WriteOptions.DEFAULT);
    for (int o = 1; o <= 8; o++) {
      for (boolean le : new boolean[] {false, true}) {
        Path f = dir.resolve("o" + o + le + ".png");
        Files.write(f, pngWithExif(png, tiffWithOrientation(o, le)));
        assertEquals(o, ExifOrientation.find(Files.readAllBytes(f)));
        Image img = Images.read(f);
        int[][] exp = expected(grid, o);
        assertEquals(exp.length, img.height(), "orientation " + o);
        assertEquals(exp[0].length, img.width(), "orientation " + o);
        for (int y = 0; y < img.height(); y++) for (int x = 0; x < img.width(); x++) {
          assertEquals(exp[y][x], Math.round(img.get(1, y, x) * 255), "orientation " + o + " at " + x + "," + y);
        }
        assertEquals(o, img.metadata().exifOrientation());
        Image raw = Images.read(f, ReadOptions.DEFAULT.withExifOrientation(false));
        assertEquals(w, raw.width());
      }
    }
  }

  @Test
  void exifOrientationOnJpeg() throws Exception {
    // 16x8: left half white, right half black. Orientation 6 (turn 90 CW) gives 8x16 with white on top.
    int w = 16, h = 8;
    float[] p = new float[3 * w * h];
    for (int c = 0; c < 3; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w / 2; x++) p[(c * h + y) * w + x] = 1;
    byte[] jpg = Images.encode(Image.of(w, h, p), "jpeg", WriteOptions.DEFAULT);
    Path f = dir.resolve("o6.jpg");
    Files.write(f, jpegWithExif(jpg, tiffWithOrientation(6, true)));
    Image img = Images.read(f);
    assertEquals(8, img.width());
    assertEquals(16, img.height());
    assertTrue(img.get(0, 1, 4) > 0.9f, "top is white");
    assertTrue(img.get(0, 14, 4) < 0.1f, "bottom is black");
  }

  @Test
  void corruptExifIsIgnored() {
    byte[] junk = {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe1, 0, 10, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M'};
    assertEquals(1, ExifOrientation.find(junk));
    byte[] badOffset = tiffWithOrientation(6, false);
    badOffset[7] = 99; // IFD offset past the end
    assertEquals(1, ExifOrientation.fromTiff(badOffset, 0, badOffset.length));
  }

  // ---- bad input ----

  private ImageReadException expectFailure(Path p, ReadOptions o, String fragment) {
    ImageReadException e = assertThrows(ImageReadException.class, () -> Images.read(p, o));
    assertEquals(p, e.path());
    assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
    assertTrue(e.reason().contains(fragment), "reason '" + e.reason() + "' should mention '" + fragment + "'");
    return e;
  }

  @Test
  void badInputsGiveClearErrors() throws Exception {
    expectFailure(dir.resolve("missing.png"), ReadOptions.DEFAULT, "not found");
    expectFailure(dir, ReadOptions.DEFAULT, "not a regular file");
    Path zero = Files.createFile(dir.resolve("zero.png"));
    expectFailure(zero, ReadOptions.DEFAULT, "zero-byte");
    Path text = Files.writeString(dir.resolve("text.png"), "hello, I am not an image\n");
    expectFailure(text, ReadOptions.DEFAULT, "not a recognised image format");

    byte[] png = Images.encode(random8(40, 30, 4), "png", WriteOptions.DEFAULT);
    Path cut = dir.resolve("cut.png");
    Files.write(cut, Arrays.copyOf(png, png.length / 2));
    expectFailure(cut, ReadOptions.DEFAULT, "png");

    byte[] jpg = Images.encode(random8(64, 48, 5), "jpeg", WriteOptions.DEFAULT);
    Path cutJ = dir.resolve("cut.jpg");
    Files.write(cutJ, Arrays.copyOf(jpg, jpg.length / 2));
    expectFailure(cutJ, ReadOptions.DEFAULT, "truncated");
    // Only the end marker missing: all the coded data is there, so it reads (it was refused), with a notice.
    assertEquals(0xd9, jpg[jpg.length - 1] & 0xff);
    Image noEoi = Images.decode(Arrays.copyOf(jpg, jpg.length - 2), dir.resolve("noeoi.jpg"), ReadOptions.DEFAULT);
    assertArrayEquals(Images.decode(jpg, dir.resolve("whole.jpg"), ReadOptions.DEFAULT).rgb(), noEoi.rgb(), 0f);
    assertTrue(noEoi.metadata().notice().contains("end marker (EOI) is missing"), noEoi.metadata().toString());
    expectFailure(Files.write(dir.resolve("cut3.jpg"), Arrays.copyOf(jpg, jpg.length - 3)), ReadOptions.DEFAULT,
        "truncated"); // one byte of coded data gone too

    byte[] bmp = Images.encode(random8(20, 20, 6), "bmp", WriteOptions.DEFAULT);
    Path cutB = dir.resolve("cut.bmp");
    Files.write(cutB, Arrays.copyOf(bmp, bmp.length - 100));
    expectFailure(cutB, ReadOptions.DEFAULT, "truncated");

    // A frame header naming arithmetic coding over Huffman-coded data: the JDK decodes noise and only warns.
    byte[] mislabelled = jpg.clone();
    int sof = 2;
    while ((mislabelled[sof + 1] & 0xff) != 0xc0) {
      sof += 2 + ((mislabelled[sof + 2] & 0xff) << 8 | mislabelled[sof + 3] & 0xff);
    }
    mislabelled[sof + 1] = (byte) 0xc9;
    Path arith = Files.write(dir.resolve("arith.jpg"), mislabelled);
    expectFailure(arith, ReadOptions.DEFAULT, "bytes unread");
    // A few padding bytes before the end marker, as some cameras write, are skipped with the same warning and pass.
    byte[] padded = Arrays.copyOf(jpg, jpg.length + 300);
    System.arraycopy(jpg, jpg.length - 2, padded, padded.length - 2, 2);
    Arrays.fill(padded, jpg.length - 2, padded.length - 2, (byte) 0x55);
    Path pad = Files.write(dir.resolve("padded.jpg"), padded);
    Files.write(dir.resolve("plain.jpg"), jpg);
    assertArrayEquals(Images.read(dir.resolve("plain.jpg")).rgb(), Images.read(pad).rgb());

    Path one = dir.resolve("one.png");
    Images.write(random8(1, 1, 7), one);
    expectFailure(one, ReadOptions.DEFAULT, "smaller than the minimum side");
    assertEquals(1, Images.read(one, ReadOptions.DEFAULT.withMinSide(1)).width());

    Path big = dir.resolve("big.png");
    Images.write(random8(20, 10, 8), big);
    expectFailure(big, ReadOptions.DEFAULT.withMaxPixels(199), "above the limit of 199");
    assertEquals(200, Images.read(big, ReadOptions.DEFAULT.withMaxPixels(200)).pixelCount());
  }

  @Test
  void decompressionBombFailsFromHeaderWithoutDecoding() throws Exception {
    // A PNG whose IHDR claims 50000 x 50000 (2.5 GP, 7.5 G floats) followed by a tiny IDAT.
    byte[] small = Images.encode(random8(2, 2, 9), "png", WriteOptions.DEFAULT);
    byte[] bomb = small.clone();
    java.nio.ByteBuffer.wrap(bomb, 16, 8).putInt(50000).putInt(50000);
    CRC32 crc = new CRC32();
    crc.update(bomb, 12, 17);
    java.nio.ByteBuffer.wrap(bomb, 29, 4).putInt((int) crc.getValue());
    Path f = dir.resolve("bomb.png");
    Files.write(f, bomb);
    long t0 = System.nanoTime();
    expectFailure(f, ReadOptions.DEFAULT, "50000x50000");
    assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "rejected from the header, quickly");
    assertThrows(ImageReadException.class, () -> Images.probe(f, ReadOptions.DEFAULT));
  }

  @Test
  void atomicWriteAndGuard() throws Exception {
    Path f = dir.resolve("sub/out.png");
    Image a = random8(5, 5, 10);
    Images.writeAtomic(a, f);
    Image b = random8(5, 5, 11);
    Images.writeAtomic(b, f);
    assertClose(b.rgb(), Images.read(f).rgb(), EXACT, "second write replaced the first");
    try (var s = Files.list(f.getParent())) {
      assertEquals(1, s.count(), "no temporary file left behind");
    }
    assertThrows(IllegalArgumentException.class, () -> Images.requireDistinct(f, f));
    assertThrows(IllegalArgumentException.class, () -> Images.requireDistinct(f, dir.resolve("sub/../sub/out.png")));
    Images.requireDistinct(f, dir.resolve("sub/other.png"));
    assertThrows(IllegalArgumentException.class, () -> Images.write(a, dir.resolve("x.gif")));
  }

  @Test
  void tensorRoundTrip() throws Exception {
    Image img = random8(6, 4, 12);
    try (PointerScope scope = new PointerScope()) {
      Tensor t = ImageTensors.toTensor(img);
      assertEquals(4, t.dim());
      assertArrayEquals(new long[] {1, 3, 4, 6}, new long[] {t.size(0), t.size(1), t.size(2), t.size(3)});
      assertEquals(img.get(2, 3, 5), t.get(0).get(2).get(3).get(5).item_float(), 0f);
      Image back = ImageTensors.fromTensor(t);
      assertClose(img.rgb(), back.rgb(), EXACT, "tensor [1,3,H,W]");
      Image back3 = ImageTensors.fromTensor(t.squeeze(0), img.withAlpha(new float[24]));
      assertTrue(back3.hasAlpha(), "alpha carried over from the source image");
      assertClose(img.rgb(), back3.rgb(), EXACT, "tensor [3,H,W]");
      assertThrows(IllegalArgumentException.class, () -> ImageTensors.fromTensor(t.narrow(1, 0, 2)));
    }
    assertThrows(IllegalArgumentException.class, () -> ImageTensors.tensorOf(new float[5], 2, 3));
  }

  @Test
  void resizeKeepsLinearMean() {
    Image img = random8(40, 30, 13);
    Image small = ImageOps.fitMaxSide(img, 10);
    assertEquals(10, small.width());
    assertEquals(8, small.height()); // 30 * 10/40 = 7.5 -> 8
    Image exact = ImageOps.resizeArea(img, 20, 15); // integer factor 2: each output = mean of a 2x2 block
    float[] lin = Srgb.toLinear(img.rgb());
    double m = (lin[0] + lin[1] + lin[40] + lin[41]) / 4;
    assertEquals(Srgb.fromLinear(m), exact.rgb()[0], 1e-5);
    assertEquals(img, ImageOps.fitMaxSide(img, 40));
    Image c = ImageOps.crop(img, 3, 2, 5, 4);
    assertEquals(img.get(1, 2, 3), c.get(1, 0, 0));
    assertEquals(img.get(2, 5, 7), c.get(2, 3, 4));
    assertThrows(IllegalArgumentException.class, () -> ImageOps.crop(img, 38, 0, 5, 5));
  }

  @Test
  void srgbTransferIsInverse() {
    for (int i = 0; i <= 1000; i++) {
      double c = i / 1000.0;
      assertEquals(c, Srgb.fromLinear(Srgb.toLinear(c)), 1e-12);
    }
    assertEquals(0.2140, Srgb.toLinear(0.5), 1e-4); // textbook value
  }
}
