/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.awt.image.ColorConvertOp;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.deepspg.io.AtomicFile;
import org.deepspg.io.RealPaths;

/**
 * Image file I/O: decoding, encoding and atomic writes. The image/tensor bridge is {@link ImageTensors}.
 *
 * <p><b>Formats.</b> Read: PNG (1–16 bit, grey, palette, alpha), JPEG (grey, RGB; CMYK is rejected), BMP, TIFF (the
 * JDK's built-in plugin: grey, RGB, palette, YCbCr; 8/16/32-bit unsigned or 32/64-bit float samples, non-finite
 * floats rejected; CMYK, CIELab and signed samples rejected; multi-page TIFF and camera raw files, DNG or a first
 * image marked as a preview, rejected), WebP (TwelveMonkeys' pure-Java reader, lossy and lossless; animated WebP
 * rejected); GIF and animated PNG (APNG) are rejected: still images only, nothing of which one frame would be kept.
 * Written: PNG, JPEG, BMP, TIFF (deflate); WebP writing is not supported (no maintained pure-Java WebP encoder on
 * Maven Central) and fails with {@link IllegalArgumentException}.
 *
 * <p><b>Colour.</b> Pixels are sRGB-encoded floats in [0, 1]. Grey sources give three equal planes
 * ({@link Image.Metadata#gray()} set) and are written back as one grey channel (BT.601 luma of the three planes).
 * RGB and grey sources tagged with an ICC profile (JPEG's APP2 segments, TIFF, WebP's ICCP and PNG's iCCP chunk; all
 * but TIFF's read from the file's bytes) that does not act as sRGB (e.g. Adobe RGB, linear RGB, linear grey; measured
 * on a few colours, not judged by the profile's name) are converted to sRGB with the JDK's colour management (16-bit
 * sources of matrix/TRC profiles in floating point, {@code MatrixShaper}); the conversion is noted in
 * {@link Image.Metadata#colorNote()}. A profile that cannot be used (unreadable, incomplete, of another colour space
 * than the image's, or one the colour management cannot link) is ignored in every format: the pixels are read as
 * sRGB, and {@link Image.Metadata#notice()} says so. A PNG's gAMA chunk without an iCCP or sRGB chunk is honoured
 * (samples decoded with its gamma, encoded as sRGB, noted; within {@link #GAMA_SRGB_TOLERANCE} of 1/2.2 left as
 * sRGB). Alpha is
 * kept as a straight (un-premultiplied) plane and written back by PNG and TIFF; JPEG and BMP drop it.
 *
 * <p><b>Bit depth.</b> Samples are scaled by {@code 2^bits - 1} of their source component size, so 16-bit PNG/TIFF
 * keep their precision; writing PNG/TIFF of an image whose source was 16-bit writes 16 bits again.
 *
 * <p><b>Bad input.</b> Every failure to read a file is an {@link ImageReadException} naming the file and the reason:
 * missing, not a regular file, zero bytes, not a recognised image format, unsupported colour type, corrupt header,
 * truncated or corrupt pixel data, side below {@link ReadOptions#minSide()}, or more pixels than
 * {@link ReadOptions#maxPixels()} — the last one is checked from the header, before any pixel is decoded. A JPEG
 * whose only defect is a missing end marker (EOI) is read, with a {@link Image.Metadata#notice()}.
 *
 * <p><b>EXIF.</b> JPEG, PNG and WebP orientation tags are applied ({@link ExifOrientation}) unless
 * {@link ReadOptions#applyExifOrientation()} is off. The EXIF block itself (capture date, camera, GPS) is kept in
 * {@link Image.Metadata#exif()} and written into JPEG and PNG outputs, made true for the upright pixels
 * ({@link ExifData}; {@link WriteOptions#keepExif()} off strips it).
 *
 * <p>All methods are thread-safe (ImageIO readers and writers are created per call).
 */
public final class Images {
  /** File extensions (lower case, no dot) that {@link #read(Path)} accepts. */
  public static final Set<String> READ_EXTENSIONS = Set.of("png", "jpg", "jpeg", "jpe", "jfif", "bmp", "tif", "tiff",
      "webp");

  /** File extensions (lower case, no dot) that {@link #write(Image, Path)} accepts. */
  public static final Set<String> WRITE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "jpe", "jfif", "bmp", "tif", "tiff");

  /** libjpeg's warning that coded data was skipped: "Corrupt JPEG data: N extraneous bytes before marker 0xd9". */
  private static final Pattern EXTRANEOUS = Pattern.compile("(\\d+) extraneous bytes before marker");
  /** Skipped JPEG bytes always tolerated (padding before the end marker); above it, a tenth of the file. */
  private static final int MAX_UNREAD_JPEG_BYTES = 1024;

  static {
    // Register plug-ins found on the class path (TwelveMonkeys WebP) even when an application class loader that is
    // not the context loader loaded us.
    ImageIO.scanForPlugins();
    ImageIO.setUseCache(false); // decode in memory, no temp files
  }

  private Images() {}

  // ------------------------------------------------------------------------------------------------------------
  // Reading

  /**
   * Reads an image with {@link ReadOptions#DEFAULT}.
   *
   * @param path the file
   * @return the image, upright, sRGB
   * @throws ImageReadException naming the file and the reason when it cannot be read
   */
  public static Image read(Path path) throws ImageReadException {
    return read(path, ReadOptions.DEFAULT);
  }

  /**
   * Reads an image.
   *
   * @param path the file
   * @param options pixel limit, minimum side, EXIF switch
   * @return the image, upright, sRGB
   * @throws ImageReadException naming the file and the reason when it cannot be read
   */
  public static Image read(Path path, ReadOptions options) throws ImageReadException {
    return decode(readBytes(path), path, options);
  }

  /**
   * Reads only the header: the size that {@link #read(Path, ReadOptions)} returns (the stored size turned by the EXIF
   * orientation when {@link ReadOptions#applyExifOrientation()} is on), and applies the same checks as
   * {@link #read(Path, ReadOptions)} except decoding the pixels (CMYK/YCCK JPEGs are refused here too). Used to
   * validate datasets cheaply: damaged or truncated pixel data is found only by {@link #read}.
   *
   * @param path the file
   * @param options pixel limit and minimum side
   * @return {@code [width, height]} of the image as read: upright when the orientation is applied, else as stored
   * @throws ImageReadException when the file is not a readable image or fails the size checks
   */
  public static int[] probe(Path path, ReadOptions options) throws ImageReadException {
    byte[] data = readBytes(path);
    try (ImageInputStream iis = memoryStream(withoutProfile(data))) {
      ImageReader reader = readerFor(iis, data, path);
      try {
        String format = normalizeFormat(reader.getFormatName());
        refuseCmykJpeg(format, data, path);
        int[] size = checkedSize(reader, path, options);
        // the size read() returns: turned upright when it applies the EXIF orientation
        return ExifOrientation.swapsAxes(orientation(format, data, options)) ? new int[] {size[1], size[0]} : size;
      } finally {
        reader.dispose();
      }
    } catch (ImageReadException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageReadException(path, "cannot read header: " + e.getMessage(), e);
    }
  }

  /**
   * Decodes an image held in memory.
   *
   * @param data the encoded bytes
   * @param nameForErrors the path reported in exceptions (need not exist)
   * @param options pixel limit, minimum side, EXIF switch
   * @return the image
   * @throws ImageReadException when the bytes are not a readable image
   */
  public static Image decode(byte[] data, Path nameForErrors, ReadOptions options) throws ImageReadException {
    Path path = nameForErrors;
    if (data.length == 0) throw new ImageReadException(path, "zero-byte file");
    BufferedImage bi;
    String format;
    List<String> notices = new ArrayList<>();
    try (ImageInputStream iis = memoryStream(withoutProfile(data))) {
      ImageReader reader = readerFor(iis, data, path);
      try {
        format = normalizeFormat(reader.getFormatName());
        refuseCmykJpeg(format, data, path);
        if ("webp".equals(format)) refuseAnimatedWebp(data, path);
        if ("png".equals(format)) refuseAnimatedPng(data, path);
        if ("tiff".equals(format)) refuseTiffPages(data, path);
        int[] size = checkedSize(reader, path, options);
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((src, msg) -> warnings.add(msg));
        try {
          bi = reader.read(0);
        } catch (IOException | RuntimeException e) {
          String msg = String.valueOf(e.getMessage());
          if (msg.contains("Unsupported Image Type") || msg.contains("Unsupported JPEG process")) {
            throw new ImageReadException(path, "unsupported " + format + " colour type or process (" + msg
                + "); convert it to an RGB or grey image", e);
          }
          throw new ImageReadException(path, "corrupt or truncated " + format + " data: " + describe(e), e);
        }
        long unread = 0;
        boolean noEoi = false;
        for (String w : warnings) {
          String lw = w.toLowerCase(Locale.ROOT);
          // The JDK's "Truncated File - Missing EOI marker" alone: the coded data ran to its end (a cut in it also
          // gives libjpeg's "premature end of data segment"), only the 2-byte end marker is not there. Browsers and
          // PIL show such a file; it was refused (the I/O audit).
          boolean missingEoi = lw.contains("missing eoi");
          noEoi |= missingEoi;
          if (lw.contains("premature end") || lw.contains("truncat") && !missingEoi) {
            throw new ImageReadException(path, "truncated " + format + " data (" + w + ")");
          }
          Matcher m = EXTRANEOUS.matcher(w);
          if (m.find()) unread += Long.parseLong(m.group(1));
        }
        if (unread > Math.max(MAX_UNREAD_JPEG_BYTES, data.length / 10)) {
          // The decoder stopped reading the coded data long before its end marker: it lost its way in it (damaged
          // data, or a frame header naming another coding than the data's) and the pixels are noise. A few bytes
          // before the end marker, as some cameras write, decode fine and pass.
          throw new ImageReadException(path, "corrupt " + format + " data: the decoder left " + unread + " of "
              + data.length + " bytes unread (" + warnings.get(0) + ")");
        }
        if (bi == null || bi.getWidth() != size[0] || bi.getHeight() != size[1]) {
          throw new ImageReadException(path, "decoder returned no image or a size other than the header's "
              + size[0] + "x" + size[1]);
        }
        if (noEoi) notices.add("its JPEG end marker (EOI) is missing: read as complete, the coded data ran to its end");
        if ("tiff".equals(format)) bi = tiffColour(reader, bi, path, notices);
        else bi = withProfile(bi, format, data, notices);
      } finally {
        reader.dispose();
      }
    } catch (ImageReadException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageReadException(path, "cannot read: " + describe(e), e);
    }
    if ("bmp".equals(format)) checkBmpComplete(data, bi, path);
    Image img = fromBufferedImage(bi, format, path);
    for (String n : notices) img = img.withMetadata(img.metadata().withNotice(n));
    if ("png".equals(format)) img = withPngGamma(img, data);
    int o = orientation(format, data, options);
    if (o != 1) img = orient(img, o);
    byte[] exif = "bmp".equals(format) ? null
        : ExifData.forOutput(data, o, img.metadata().colorNote().startsWith("converted"));
    if (exif != null && exif.length > ExifData.MAX_BYTES) {
      // A PNG's eXIf chunk has no bound: a 20 MB one (an empty directory and zeros) made a 21 MB output of a 60 KB
      // picture (the I/O audit). Above what a JPEG's APP1 segment holds, no output carries it.
      img = img.withMetadata(img.metadata().withNotice("its EXIF block (" + exif.length + " bytes, more than the "
          + ExifData.MAX_BYTES + " a JPEG's APP1 segment holds) is left out of the output"));
      exif = null;
    }
    return exif == null ? img : img.withMetadata(img.metadata().withExif(exif));
  }

  /** The EXIF orientation that reading applies: the file's, or 1 when switched off or for BMP (no EXIF). */
  private static int orientation(String format, byte[] data, ReadOptions options) {
    return options.applyExifOrientation() && !"bmp".equals(format) ? ExifOrientation.find(data) : 1;
  }

  /** The JDK decoder returns CMYK/YCCK samples as if they were RGB(+alpha): garbage, not an error. */
  private static void refuseCmykJpeg(String format, byte[] data, Path path) throws ImageReadException {
    if ("jpeg".equals(format) && ExifOrientation.jpegComponents(data) == 4) {
      throw new ImageReadException(path, "CMYK/YCCK JPEG (4 colour components) is not supported; convert it to "
          + "RGB first (e.g. ImageMagick: convert IN.jpg -colorspace sRGB OUT.jpg)");
    }
  }

  /**
   * An animated WebP is refused like a GIF: one frame would be enhanced and the rest lost, and the reader decodes the
   * frames of a lossy animation wrongly (a flat green image, exit 0, in the photo audit of session 35). Detected by
   * the extended header's animation flag or an ANIM/ANMF chunk.
   */
  static void refuseAnimatedWebp(byte[] data, Path path) throws ImageReadException {
    int frames = 0;
    boolean animated = false;
    for (long[] c : ExifOrientation.riffChunks(data)) {
      int i = (int) c[0];
      String id = new String(data, i, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
      if (id.equals("VP8X") && i + 8 < data.length && (data[i + 8] & 0x02) != 0) animated = true;
      if (id.equals("ANIM")) animated = true;
      if (id.equals("ANMF")) frames++;
    }
    if (animated || frames > 0) {
      throw new ImageReadException(path, "animated WebP" + (frames > 0 ? " (" + frames + " frame"
          + (frames == 1 ? "" : "s") + ")" : "") + " is not a supported input: only still images are enhanced; "
          + "export the frame you want as PNG first");
    }
  }

  /**
   * An animated PNG (APNG) is refused as an animated WebP is: the reader decodes its default image and the other
   * frames were lost without a word (the I/O audit). Detected by an {@code acTL} chunk before the image data, where
   * the APNG specification puts it.
   */
  static void refuseAnimatedPng(byte[] data, Path path) throws ImageReadException {
    int[] actl = ExifOrientation.pngChunk(data, "acTL", "IDAT");
    if (actl == null) return;
    long frames = actl[1] - actl[0] >= 4 ? ExifOrientation.u32be(data, actl[0]) : 0;
    throw new ImageReadException(path, "animated PNG (APNG" + (frames > 0 ? ", " + frames + " frame"
        + (frames == 1 ? "" : "s") : "") + ") is not a supported input: only still images are enhanced; export the "
        + "frame you want as a still PNG first");
  }

  /**
   * TIFF files whose first image is not the picture, or not the only one: a camera raw file (DNG, or any first
   * directory marked as a reduced-resolution image, as raw formats keep their preview there) would have its small
   * preview enhanced, and of a multi-page TIFF (a scanned document) all pages but the first would be lost (both
   * exit 0 before session 35's photo audit). Further directories marked reduced-resolution or transparency mask,
   * or less than half the first image's size in a dimension (an unmarked thumbnail), are not pages.
   * The directory chain is walked in the bytes: the reader, opened without metadata and forward-only, shows neither
   * the tags nor the page count.
   */
  static void refuseTiffPages(byte[] data, Path path) throws ImageReadException {
    if (data.length < 8) return;
    boolean le = data[0] == 'I';
    long ifd = ExifOrientation.u32(data, 4, le);
    int full = 0;
    java.util.Set<Long> seen = new java.util.HashSet<>();
    long firstW = -1, firstH = -1;
    for (int page = 0; ifd >= 8 && ifd + 2 <= data.length && seen.add(ifd) && page < 4096; page++) {
      int n = ExifOrientation.u16(data, (int) ifd, le);
      long subfile = 0, w = -1, h = -1;
      boolean dng = false;
      for (int e = 0; e < n && ifd + 2 + 12L * (e + 1) <= data.length; e++) {
        int at = (int) ifd + 2 + 12 * e, tag = ExifOrientation.u16(data, at, le);
        int type = ExifOrientation.u16(data, at + 2, le);
        long v = type == 3 ? ExifOrientation.u16(data, at + 8, le) : ExifOrientation.u32(data, at + 8, le);
        if (tag == 254) subfile = v;
        if (tag == 256) w = v;
        if (tag == 257) h = v;
        if (tag == 50706) dng = true;
      }
      if (page == 0) {
        firstW = w;
        firstH = h;
      }
      if (page == 0 && (dng || (subfile & 1) != 0)) {
        throw new ImageReadException(path, (dng ? "a camera raw file (DNG)"
            : "a TIFF whose first image is a reduced-resolution preview (a camera raw file?)")
            + " is not a supported input; develop it into a 16-bit TIFF or PNG first");
      }
      // A page: not marked reduced-resolution (bit 0) or a transparency mask (bit 2), and not much smaller than the
      // first image (an unmarked thumbnail in IFD1).
      boolean small = page > 0 && w > 0 && h > 0 && firstW > 0 && firstH > 0 && (2 * w < firstW || 2 * h < firstH);
      if ((subfile & 5) == 0 && !small) full++;
      long next = ifd + 2 + 12L * n;
      if (next + 4 > data.length) break;
      ifd = ExifOrientation.u32(data, (int) next, le);
    }
    if (full > 1) {
      throw new ImageReadException(path, "a multi-page TIFF (" + full + " pages) is not a supported input: only the "
          + "first page would be enhanced; split it into one file per page first (e.g. tiffsplit, or ImageMagick: "
          + "convert IN.tif page-%d.tif)");
    }
  }

  /**
   * A stream over bytes already read. Not {@code ImageIO.createImageInputStream}: with TwelveMonkeys on the class path
   * that returns a channel-backed stream, which closes itself in a thread whose interrupt flag is set, so every reader
   * then failed to recognise a valid file ("not a recognised image format").
   */
  private static ImageInputStream memoryStream(byte[] data) {
    return new MemoryCacheImageInputStream(new ByteArrayInputStream(data));
  }

  private static byte[] readBytes(Path path) throws ImageReadException {
    if (!Files.exists(path)) throw new ImageReadException(path, "file not found");
    if (!Files.isRegularFile(path)) throw new ImageReadException(path, "not a regular file");
    try {
      long size = Files.size(path);
      if (size == 0) throw new ImageReadException(path, "zero-byte file");
      if (size > Integer.MAX_VALUE - 16) throw new ImageReadException(path, "file larger than 2 GiB: " + size + " bytes");
      return Files.readAllBytes(path);
    } catch (ImageReadException e) {
      throw e;
    } catch (NoSuchFileException e) {
      throw new ImageReadException(path, "file not found", e);
    } catch (IOException e) {
      throw new ImageReadException(path, "cannot read file: " + describe(e), e);
    }
  }

  private static ImageReader readerFor(ImageInputStream iis, byte[] data, Path path) throws ImageReadException {
    if (iis == null) throw new ImageReadException(path, "cannot open an image stream");
    Iterator<ImageReader> it = ImageIO.getImageReaders(iis);
    if (!it.hasNext()) {
      StringBuilder hex = new StringBuilder();
      for (int i = 0; i < Math.min(8, data.length); i++) hex.append(String.format(Locale.ROOT, "%02x ", data[i] & 0xff));
      throw new ImageReadException(path, "not a recognised image format (first bytes: " + hex.toString().trim()
          + "); readable: PNG, JPEG, BMP, TIFF, WebP");
    }
    ImageReader reader = it.next();
    // GIF: not a listed input (an animation would silently lose all but one frame)
    if (reader.getOriginatingProvider() != null
        && java.util.Arrays.asList(reader.getOriginatingProvider().getFormatNames()).contains("gif")) {
      throw new ImageReadException(path, "GIF is not a supported input (readable: PNG, JPEG, BMP, TIFF, WebP); "
          + "convert it to PNG first");
    }
    reader.setInput(iis, true, true);
    return reader;
  }

  private static int[] checkedSize(ImageReader reader, Path path, ReadOptions options) throws ImageReadException {
    int w, h;
    try {
      w = reader.getWidth(0);
      h = reader.getHeight(0);
    } catch (IOException | RuntimeException e) {
      String msg = String.valueOf(e.getMessage());
      if (msg.contains("Unsupported JPEG data precision")) { // 12-bit JPEG (medical, some cameras): valid, not read
        throw new ImageReadException(path, "a JPEG of more than 8 bits per sample is not supported (" + msg
            + "; the JDK's decoder reads 8-bit JPEG); convert it to a 16-bit PNG or TIFF first", e);
      }
      throw new ImageReadException(path, "corrupt " + normalizeFormat(formatName(reader)) + " header: " + describe(e), e);
    }
    if (w < 1 || h < 1) throw new ImageReadException(path, "header declares an empty image " + w + "x" + h);
    long pixels = (long) w * h;
    if (pixels > options.maxPixels()) {
      throw new ImageReadException(path, "header declares " + w + "x" + h + " = " + pixels
          + " pixels, above the limit of " + options.maxPixels() + " (a guard against decompression bombs; for a "
          + "photo this large raise it: --max-pixels N on the command line, ReadOptions.withMaxPixels in the API)");
    }
    if (3 * pixels + 16 > Integer.MAX_VALUE) {
      throw new ImageReadException(path, "image " + w + "x" + h + " too large for one float array");
    }
    if (w < options.minSide() || h < options.minSide()) {
      throw new ImageReadException(path, "image " + w + "x" + h + " is smaller than the minimum side "
          + options.minSide() + " (ReadOptions.minSide)");
    }
    return new int[] {w, h};
  }

  private static String formatName(ImageReader reader) {
    try {
      return reader.getFormatName();
    } catch (IOException e) {
      return "image";
    }
  }

  private static String normalizeFormat(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return switch (n) {
      case "jpg", "jpeg", "jpe", "jfif" -> "jpeg";
      case "tif", "tiff" -> "tiff";
      default -> n;
    };
  }

  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder(e.getClass().getSimpleName() + ": " + e.getMessage());
    for (Throwable c = e.getCause(); c != null && c != e; c = c.getCause()) {
      sb.append(" <- ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
    }
    return sb.toString();
  }

  /**
   * The JDK's BMP reader fills missing rows with zeros instead of failing. An uncompressed BMP's pixel array size is
   * known from its header, so a short file is detected here.
   */
  private static void checkBmpComplete(byte[] d, BufferedImage bi, Path path) throws ImageReadException {
    if (d.length < 54) throw new ImageReadException(path, "truncated BMP header");
    long dataOffset = le32(d, 10);
    int headerSize = (int) le32(d, 14);
    if (headerSize < 40) return; // OS/2 headers: no check
    int bpp = (d[28] & 0xff) | ((d[29] & 0xff) << 8);
    long compression = le32(d, 30);
    if (compression != 0 && compression != 3) return; // RLE: length unknown up front
    long rowBytes = ((long) bi.getWidth() * bpp + 31) / 32 * 4;
    long need = dataOffset + rowBytes * bi.getHeight();
    if (d.length < need) {
      throw new ImageReadException(path, "truncated BMP data: " + d.length + " bytes, header implies " + need);
    }
  }

  private static long le32(byte[] d, int p) {
    return ((long) (d[p + 3] & 0xff) << 24) | ((d[p + 2] & 0xff) << 16) | ((d[p + 1] & 0xff) << 8) | (d[p] & 0xff);
  }

  /**
   * TIFF colour that the JDK's plug-in decodes without error but not as sRGB: CMYK (a naive conversion, a negative
   * image after enhancement) and CIELab (read as if it were RGB) are refused, as are signed samples; float samples of
   * an RGB or grey TIFF (which the plug-in gives a placeholder colour space that the generic conversion garbles) are
   * taken as sRGB / grey values, as every writer of such files means them.
   */
  private static BufferedImage tiffColour(ImageReader reader, BufferedImage bi, Path path, List<String> notices)
      throws IOException {
    javax.imageio.plugins.tiff.TIFFDirectory dir;
    try {
      dir = javax.imageio.plugins.tiff.TIFFDirectory.createFromMetadata(reader.getImageMetadata(0));
    } catch (javax.imageio.metadata.IIOInvalidTreeException | RuntimeException e) {
      return bi; // no TIFF directory to check (the decoder read the pixels; the colour model decides as for others)
    }
    int photometric = tiffInt(dir, 262, -1), sampleFormat = tiffInt(dir, 339, 1);
    switch (photometric) {
      case 5 -> throw new ImageReadException(path, "CMYK TIFF (PhotometricInterpretation 5) is not supported; "
          + "convert it to RGB first (e.g. ImageMagick: convert IN.tif -colorspace sRGB OUT.tif)");
      case 8, 9, 10 -> throw new ImageReadException(path, "CIELab TIFF (PhotometricInterpretation " + photometric
          + ") is not supported; convert it to RGB first");
      case -1, 0, 1, 2, 3, 6 -> { } // grey (white/black is zero), RGB, palette, YCbCr (decoded to RGB)
      default -> throw new ImageReadException(path, "TIFF PhotometricInterpretation " + photometric
          + " is not supported; convert it to an RGB or grey image");
    }
    if (sampleFormat == 2) {
      throw new ImageReadException(path, "signed-integer TIFF samples are not supported; convert it to an 8- or "
          + "16-bit RGB or grey image");
    }
    ColorModel cm = bi.getColorModel();
    int dt = bi.getRaster().getDataBuffer().getDataType();
    boolean floats = dt == DataBuffer.TYPE_FLOAT || dt == DataBuffer.TYPE_DOUBLE;
    javax.imageio.plugins.tiff.TIFFField icc = dir.getTIFFField(34675);
    ColorSpace cs = cm.getColorSpace();
    if (icc != null && !floats && (!(cs instanceof ICC_ColorSpace) || cs == ColorSpace.getInstance(ColorSpace.CS_sRGB)
        || cs == ColorSpace.getInstance(ColorSpace.CS_GRAY))) {
      // the plug-in dropped the profile in silence (one it could not read or link): the rule of the other formats
      return withProfile(bi, icc.getAsBytes(), notices);
    }
    int nc = cm.getNumColorComponents();
    if (floats && !(cs instanceof ICC_ColorSpace) && (photometric == 2 && nc == 3
        || (photometric == 0 || photometric == 1) && nc == 1)) {
      ComponentColorModel ccm = new ComponentColorModel(
          ColorSpace.getInstance(nc == 3 ? ColorSpace.CS_sRGB : ColorSpace.CS_GRAY), cm.hasAlpha(), false,
          cm.hasAlpha() ? Transparency.TRANSLUCENT : Transparency.OPAQUE, dt);
      return new BufferedImage(ccm, bi.getRaster(), false, null);
    }
    return bi;
  }

  private static int tiffInt(javax.imageio.plugins.tiff.TIFFDirectory dir, int tag, int absent) {
    javax.imageio.plugins.tiff.TIFFField f = dir.getTIFFField(tag);
    return f == null || f.getCount() < 1 ? absent : f.getAsInt(0);
  }

  /**
   * The embedded ICC profile of a PNG (iCCP chunk), JPEG (APP2 {@code ICC_PROFILE} segments) or WebP (ICCP chunk),
   * applied here for all three: the JDK's PNG reader does not apply it (and is not asked to read it: its metadata pass
   * would inflate every text chunk, a memory bomb), and the JPEG and WebP readers are not given it
   * ({@link #withoutProfile}): the JDK's JPEG reader ignored a grey JPEG's profile, refused a JPEG missing one of its
   * segments and fell back to sRGB unnoted for a profile it could not link, and TwelveMonkeys' WebP reader refused a
   * WebP with either. Found in the file's bytes, the profile becomes the image's colour space, so that
   * {@link #fromBufferedImage} converts it to sRGB; one that cannot be used is ignored with a notice, the pixels read
   * as sRGB.
   */
  private static BufferedImage withProfile(BufferedImage bi, String format, byte[] data, List<String> notices) {
    byte[] icc;
    try {
      icc = switch (format) {
        case "png" -> pngProfile(data);
        case "jpeg" -> jpegProfile(data);
        case "webp" -> webpProfile(data);
        default -> null;
      };
    } catch (IOException e) {
      notices.add(ignoredProfile("an unusable ICC profile", e.getMessage()));
      return bi;
    }
    return icc == null ? bi : withProfile(bi, icc, notices);
  }

  /**
   * An image with an embedded ICC profile as its colour space ({@link #fromBufferedImage} converts it, or ignores it
   * with a notice when the colour management cannot use it); the image as it is, with a notice, when the profile is
   * unreadable or of another colour space than the image's (a palette image's colours are expanded to RGB samples).
   */
  private static BufferedImage withProfile(BufferedImage bi, byte[] icc, List<String> notices) {
    ICC_Profile p;
    try {
      p = ICC_Profile.getInstance(icc);
    } catch (RuntimeException e) {
      notices.add(ignoredProfile("an unusable ICC profile", describe(e)));
      return bi;
    }
    if (bi.getColorModel() instanceof IndexColorModel icm && p.getColorSpaceType() == ColorSpace.TYPE_RGB) {
      BufferedImage rgb = new BufferedImage(bi.getWidth(), bi.getHeight(), icm.getTransparency() == Transparency.OPAQUE
          ? BufferedImage.TYPE_3BYTE_BGR : BufferedImage.TYPE_4BYTE_ABGR);
      java.awt.Graphics2D g = rgb.createGraphics();
      g.setComposite(java.awt.AlphaComposite.Src);
      g.drawImage(bi, 0, 0, null);
      g.dispose();
      bi = rgb;
    }
    ColorModel cm = bi.getColorModel();
    int nc = cm.getNumColorComponents();
    int want = nc == 3 ? ColorSpace.TYPE_RGB : nc == 1 ? ColorSpace.TYPE_GRAY : -1;
    if (!(cm instanceof ComponentColorModel) || p.getColorSpaceType() != want) {
      notices.add(ignoredProfile("ICC profile " + profileName(p), "its colour space (type " + p.getColorSpaceType()
          + ") is not the image's " + (nc == 1 ? "grey" : nc + "-component colour")));
      return bi;
    }
    String problem = p instanceof java.awt.color.ICC_ProfileGray pg ? MatrixShaper.grayCurveProblem(pg) : null;
    if (problem != null) {
      notices.add(ignoredProfile("ICC profile " + profileName(p), problem));
      return bi;
    }
    try {
      ComponentColorModel ccm = new ComponentColorModel(new ICC_ColorSpace(p), cm.hasAlpha(), false,
          cm.getTransparency(), bi.getRaster().getDataBuffer().getDataType());
      return new BufferedImage(ccm, bi.getRaster(), false, null);
    } catch (RuntimeException e) { // a grey colour model links the profile at once (LCMS error 13)
      notices.add(ignoredProfile("ICC profile " + profileName(p), describe(e)));
      return bi;
    }
  }

  /** A WebP without one of its chunks: the RIFF size and the extended header's ICC flag (0x20) follow. */
  private static byte[] withoutWebpChunk(byte[] d, long[] chunk) {
    int at = (int) chunk[0];
    int end = (int) Math.min(d.length, at + 8 + ((chunk[1] + 1) & ~1L));
    byte[] out = new byte[d.length - (end - at)];
    System.arraycopy(d, 0, out, 0, at);
    System.arraycopy(d, end, out, at, d.length - end);
    ByteBuffer.wrap(out, 4, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(out.length - 8);
    if (ExifOrientation.startsWith(out, 12, "VP8X") && out.length > 20) out[20] &= (byte) ~0x20;
    return out;
  }

  /**
   * How far a PNG's gAMA decoding exponent (1 / file gamma) may lie from 2.2 for its samples to be taken as sRGB as
   * they are: 2.1 to 2.3 covers the 1/2.2 (45455) and 0.45 (45000) that writers put for sRGB-like data, whose curve
   * differs from sRGB's by at most a few 8-bit levels in the darkest tones; Mac's old 1/1.8 and linear data (1.0) are
   * converted.
   */
  public static final double GAMA_SRGB_TOLERANCE = 0.1;

  /**
   * A PNG's gAMA chunk, honoured as the PNG specification asks when there is no iCCP or sRGB chunk: each sample
   * decoded with the file's gamma to linear light and encoded as sRGB (a 16-bit linear PNG with gAMA 1.0 came out far
   * too dark, unnoted: the I/O audit), noted in the colour note as an ICC conversion is. A gamma within
   * {@link #GAMA_SRGB_TOLERANCE} of sRGB's 1/2.2 is left as it is; cHRM (the primaries) is not applied.
   */
  private static Image withPngGamma(Image img, byte[] data) {
    int[] c = ExifOrientation.pngChunk(data, "gAMA", "IDAT");
    if (c == null || c[1] - c[0] != 4 || ExifOrientation.pngChunk(data, "iCCP", "IDAT") != null
        || ExifOrientation.pngChunk(data, "sRGB", "IDAT") != null) {
      return img;
    }
    long g = ExifOrientation.u32be(data, c[0]);
    double exponent = 100000.0 / g;
    if (g == 0 || Math.abs(exponent - 2.2) <= GAMA_SRGB_TOLERANCE) return img;
    Image.Metadata m = img.metadata();
    int max = m.bitDepth() == 16 ? 65535 : 255; // samples of fewer bits (k / 3, k / 15) fall on these steps too
    float[] lut = new float[max + 1];
    for (int k = 0; k <= max; k++) lut[k] = (float) Srgb.fromLinear(Math.pow(k / (double) max, exponent));
    float[] v = img.rgb(), out = new float[v.length];
    for (int i = 0; i < v.length; i++) out[i] = lut[Math.round(Math.min(1, Math.max(0, v[i])) * max)];
    String note = (m.gray() ? "gray, " : "") + String.format(Locale.ROOT, "converted from PNG gAMA %.5f (decoding "
        + "exponent %.3f) to sRGB", g / 100000.0, exponent);
    return new Image(img.width(), img.height(), out, img.alpha(), new Image.Metadata(m.bitDepth(), m.gray(),
        m.format(), note, m.exifOrientation(), m.exif(), m.notice()));
  }

  /** The notice of a profile that is not used: "{what} ignored ({why}): the pixels read as sRGB". */
  private static String ignoredProfile(String what, String why) {
    return what + " ignored (" + why + "): the pixels read as sRGB";
  }

  /** A PNG's ICC profile (iCCP chunk before the image data), inflated; null when there is none. */
  private static byte[] pngProfile(byte[] data) throws IOException {
    byte[] compressed = pngIccp(data);
    return compressed == null ? null : inflate(compressed, 4 << 20);
  }

  /**
   * A JPEG's ICC profile: its APP2 {@code ICC_PROFILE} segments' payloads in the order of their sequence numbers.
   *
   * @return the profile, or null when there is none
   * @throws IOException when a segment is missing or repeated (the profile is incomplete)
   */
  static byte[] jpegProfile(byte[] d) throws IOException {
    List<int[]> segs = jpegProfileSegments(d);
    if (segs.isEmpty()) return null;
    int count = d[segs.get(0)[1] + 17] & 0xff;
    byte[][] parts = new byte[count][];
    for (int[] seg : segs) {
      int pos = seg[1], len = seg[2], seq = d[pos + 16] & 0xff;
      if ((d[pos + 17] & 0xff) != count || seq < 1 || seq > count || parts[seq - 1] != null) {
        throw new IOException("its APP2 segments do not number 1 to " + count + " once each");
      }
      parts[seq - 1] = java.util.Arrays.copyOfRange(d, pos + 18, pos + 2 + len);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int k = 0; k < count; k++) {
      if (parts[k] == null) {
        throw new IOException("segment " + (k + 1) + " of its " + count + " APP2 segments is missing");
      }
      out.writeBytes(parts[k]);
    }
    return out.toByteArray();
  }

  /** The APP2 {@code ICC_PROFILE} segments of a JPEG ({marker, position, length}), in file order. */
  private static List<int[]> jpegProfileSegments(byte[] d) {
    List<int[]> out = new ArrayList<>();
    if (!ExifOrientation.isJpeg(d)) return out;
    for (int[] seg : ExifOrientation.jpegSegments(d)) {
      if (seg[0] == 0xe2 && seg[2] >= 16 && ExifOrientation.startsWith(d, seg[1] + 4, "ICC_PROFILE\0")) out.add(seg);
    }
    return out;
  }

  /** A WebP's ICC profile (ICCP chunk), or null when there is none. */
  private static byte[] webpProfile(byte[] d) throws IOException {
    for (long[] c : webpChunks(d)) {
      if (!ExifOrientation.startsWith(d, (int) c[0], "ICCP")) continue;
      if (c[0] + 8 + c[1] > d.length) throw new IOException("its ICCP chunk is cut short");
      return java.util.Arrays.copyOfRange(d, (int) c[0] + 8, (int) (c[0] + 8 + c[1]));
    }
    return null;
  }

  /** The chunks of a WebP ({@link ExifOrientation#riffChunks}); none for other data. */
  private static List<long[]> webpChunks(byte[] d) {
    boolean webp = d.length >= 12 && ExifOrientation.startsWith(d, 0, "RIFF")
        && ExifOrientation.startsWith(d, 8, "WEBP");
    return webp ? ExifOrientation.riffChunks(d) : List.of();
  }

  /**
   * The bytes given to the reader: a JPEG without its ICC profile segments, a WebP without its ICCP chunk (and the
   * extended header's ICC flag), since {@link #withProfile} applies the profile; other data as it is.
   */
  private static byte[] withoutProfile(byte[] d) {
    for (long[] c : webpChunks(d)) {
      if (ExifOrientation.startsWith(d, (int) c[0], "ICCP")) return withoutWebpChunk(d, c);
    }
    List<int[]> segs = jpegProfileSegments(d);
    if (segs.isEmpty()) return d;
    ByteArrayOutputStream out = new ByteArrayOutputStream(d.length);
    int at = 0;
    for (int[] seg : segs) {
      out.write(d, at, seg[1] - at);
      at = seg[1] + 2 + seg[2];
    }
    out.write(d, at, d.length - at);
    return out.toByteArray();
  }

  /** The compressed profile of a PNG's iCCP chunk (before the image data), or null. */
  static byte[] pngIccp(byte[] d) {
    int[] c = ExifOrientation.pngChunk(d, "iCCP", "IDAT");
    if (c == null) return null;
    int nul = c[0];
    while (nul < c[1] && d[nul] != 0) nul++; // profile name, then NUL, then the compression method (0 = zlib)
    if (nul + 2 > c[1] || d[nul + 1] != 0) return null;
    return java.util.Arrays.copyOfRange(d, nul + 2, c[1]);
  }

  /** zlib-inflates at most {@code limit} bytes (an iCCP chunk's profile; a bomb stops at the limit). */
  private static byte[] inflate(byte[] data, int limit) throws IOException {
    java.util.zip.Inflater inf = new java.util.zip.Inflater();
    try {
      inf.setInput(data);
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (!inf.finished()) {
        int k = inf.inflate(buf);
        if (k == 0 && (inf.needsInput() || inf.needsDictionary())) throw new IOException("truncated iCCP profile");
        out.write(buf, 0, k);
        if (out.size() > limit) throw new IOException("iCCP profile larger than " + limit + " bytes");
      }
      return out.toByteArray();
    } catch (java.util.zip.DataFormatException e) {
      throw new IOException("corrupt iCCP profile", e);
    } finally {
      inf.end();
    }
  }

  /**
   * Converts a decoded {@link BufferedImage} to an {@link Image}. Samples are read from the raster and scaled by
   * their component size (so 16-bit survives); palette images go through the palette; non-sRGB ICC colour spaces
   * are converted to sRGB.
   *
   * @param bi the decoded image
   * @param format the format name recorded in the metadata
   * @param path used in error messages only (may be null)
   * @return the image (EXIF orientation not applied)
   * @throws ImageReadException when the colour model cannot be mapped to sRGB
   */
  public static Image fromBufferedImage(BufferedImage bi, String format, Path path) throws ImageReadException {
    int w = bi.getWidth(), h = bi.getHeight(), n = w * h;
    ColorModel cm = bi.getColorModel();
    if (cm.isAlphaPremultiplied()) { // un-premultiply a copy: the caller's image stays as it was
      BufferedImage copy = new BufferedImage(cm, bi.copyData(null), true, null);
      copy.coerceData(false);
      bi = copy;
      cm = bi.getColorModel();
    }
    float[] rgb = new float[3 * n];
    float[] alpha = null;
    boolean gray;
    int bits = 8;
    String note;
    String notice = "";
    Raster r = bi.getRaster();
    if (cm instanceof IndexColorModel icm) {
      int size = icm.getMapSize();
      int[] argb = new int[size];
      icm.getRGBs(argb);
      gray = true;
      for (int v : argb) {
        int rr = (v >> 16) & 0xff, gg = (v >> 8) & 0xff, bb = v & 0xff;
        if (rr != gg || gg != bb) { gray = false; break; }
      }
      boolean hasAlpha = icm.getTransparency() != Transparency.OPAQUE;
      if (hasAlpha) alpha = new float[n];
      int[] idx = r.getSamples(0, 0, w, h, 0, new int[n]);
      for (int i = 0; i < n; i++) {
        int v = argb[Math.min(idx[i], size - 1)];
        rgb[i] = ((v >> 16) & 0xff) / 255f;
        rgb[n + i] = ((v >> 8) & 0xff) / 255f;
        rgb[2 * n + i] = (v & 0xff) / 255f;
        if (hasAlpha) alpha[i] = ((v >>> 24) & 0xff) / 255f;
      }
      note = gray ? "gray" : "sRGB";
    } else {
      ColorSpace cs = cm.getColorSpace();
      int nc = cm.getNumColorComponents();
      boolean convert = false;
      note = "sRGB";
      java.awt.color.ICC_ProfileGray grayProfile = null;
      if (cs.getType() == ColorSpace.TYPE_GRAY && nc == 1) {
        gray = true;
        note = "gray";
        // A grey PNG's own iCCP profile (withPngProfile): its tone curve decides, unless it acts as sRGB's.
        if (cs instanceof ICC_ColorSpace ics && ics.getProfile() instanceof java.awt.color.ICC_ProfileGray pg
            && cs != ColorSpace.getInstance(ColorSpace.CS_GRAY)) {
          String problem = MatrixShaper.grayCurveProblem(pg);
          if (problem != null) {
            notice = ignoredProfile("ICC profile " + profileName(pg), problem);
          } else if (!MatrixShaper.grayActsAsSrgb(pg)) {
            grayProfile = pg;
            note = "gray, " + conversionNote(pg);
          }
        }
      } else if (cs.getType() == ColorSpace.TYPE_RGB && nc == 3) {
        gray = false;
        if (!cs.isCS_sRGB()) {
          ICC_Profile prof = cs instanceof ICC_ColorSpace ics ? ics.getProfile() : null;
          if (!actsAsSrgb(cs)) {
            convert = true;
            note = conversionNote(prof);
          } else {
            note = "sRGB (ICC profile '" + (prof == null ? "" : profileDescription(prof)) + "')";
          }
        }
      } else {
        gray = false;
        convert = true;
        note = "converted from colour space type " + cs.getType() + " to sRGB";
      }
      for (int b = 0; b < cm.getNumComponents(); b++) bits = Math.max(bits, cm.getComponentSize(b));
      bits = bits > 8 ? 16 : 8;
      boolean done = false;
      if (convert && bits > 8 && cs instanceof ICC_ColorSpace ics
          && ics.getProfile() instanceof java.awt.color.ICC_ProfileRGB mp) {
        // A 16-bit matrix/TRC profile (Adobe RGB, Display P3, ProPhoto, linear RGB) converts in floating point: the
        // JDK's colour management collapsed the dark end of a 16-bit Adobe RGB ramp (98 levels of 320; 33 of 2048
        // over the darkest 2048), which enhancement stretches into bands (the photo and feature audits, session 35).
        done = MatrixShaper.toSrgb(r, cm, mp, rgb, path);
      }
      if (convert && !done) {
        // Other 16-bit profiles convert into 16 bits: through 8-bit RGB a dark 16-bit ramp kept 7 levels of 320.
        BufferedImage dst = bits > 8 ? ushortSrgb(w, h, cm.hasAlpha())
            : new BufferedImage(w, h, cm.hasAlpha() ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        try {
          new ColorConvertOp(null).filter(bi, dst);
          bi = dst;
          cm = dst.getColorModel();
          r = dst.getRaster();
          nc = 3;
        } catch (RuntimeException e) {
          if (!(cs instanceof ICC_ColorSpace ics) || cs.getType() != ColorSpace.TYPE_RGB || nc != 3) {
            throw new ImageReadException(path, "unsupported colour space (type " + cs.getType() + "): " + describe(e),
                e);
          }
          // A profile the colour management cannot link (LCMS error 13): ignored as an unreadable one is, not refused
          note = "sRGB";
          notice = ignoredProfile("ICC profile " + profileName(ics.getProfile()), describe(e));
        }
      }
      int[] bandsToRead = gray ? new int[] {0, 0, 0} : new int[] {0, 1, 2};
      for (int c = 0; c < 3 && !done; c++) {
        if (gray && c > 0) {
          System.arraycopy(rgb, 0, rgb, c * n, n);
          continue;
        }
        readBand(r, cm, bandsToRead[c], rgb, c * n, path);
        if (c == 0 && grayProfile != null) MatrixShaper.grayToSrgb(rgb, n, grayProfile);
      }
      if (cm.hasAlpha()) {
        alpha = new float[n];
        readBand(r, cm, cm.getNumComponents() - 1, alpha, 0, path);
      }
    }
    return new Image(w, h, rgb, alpha, new Image.Metadata(bits, gray, format, note, 1, null, notice));
  }

  /** An empty 16-bit-per-sample sRGB image (with a straight alpha band when asked). */
  private static BufferedImage ushortSrgb(int w, int h, boolean alpha) {
    ComponentColorModel m = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), alpha, false,
        alpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
    return new BufferedImage(m, m.createCompatibleWritableRaster(w, h), false, null);
  }

  /**
   * One band of samples into {@code out} as [0, 1] values.
   *
   * @throws ImageReadException for a float sample that is NaN or infinite (clamping cannot give it a value: it
   *     would reach the network as NaN and come out as a black image)
   */
  static void readBand(Raster r, ColorModel cm, int band, float[] out, int offset, Path path)
      throws ImageReadException {
    int w = r.getWidth(), h = r.getHeight(), n = w * h;
    int type = r.getDataBuffer().getDataType();
    if (type == DataBuffer.TYPE_FLOAT || type == DataBuffer.TYPE_DOUBLE) {
      float[] v = r.getSamples(0, 0, w, h, band, new float[n]);
      for (int i = 0; i < n; i++) {
        if (!Float.isFinite(v[i])) {
          throw new ImageReadException(path, "a NaN or infinite sample at x " + (i % w) + ", y " + (i / w)
              + " (band " + band + ") of a floating-point image");
        }
        out[offset + i] = Math.min(1f, Math.max(0f, v[i]));
      }
      return;
    }
    int bitsB = cm.getComponentSize(band);
    // Divide (not multiply by the reciprocal) so that k / 255 is the correctly rounded float every writer agrees on.
    float max = (float) ((1L << bitsB) - 1);
    int[] v = r.getSamples(0, 0, w, h, band, new int[n]);
    if (bitsB >= 32) { // unsigned 32-bit samples arrive as Java ints: above 2^31 - 1 they read negative
      for (int i = 0; i < n; i++) out[offset + i] = Math.min(1f, (float) ((v[i] & 0xffffffffL) / (double) max));
      return;
    }
    for (int i = 0; i < n; i++) out[offset + i] = Math.min(1f, v[i] / max);
  }

  /**
   * Whether an RGB colour space maps colours to sRGB unchanged (within half an 8-bit step), measured on a few colours
   * through the JDK's colour management. Profile names do not tell: "linear sRGB" is not sRGB, and camera profiles
   * named after their model can be exactly sRGB.
   */
  static boolean actsAsSrgb(ColorSpace cs) {
    float[][] probes = {{0.05f, 0.05f, 0.05f}, {0.2f, 0.2f, 0.2f}, {0.5f, 0.5f, 0.5f}, {0.8f, 0.8f, 0.8f},
        {0.9f, 0.1f, 0.1f}, {0.1f, 0.8f, 0.2f}, {0.15f, 0.2f, 0.9f}, {0.6f, 0.4f, 0.2f}};
    try {
      for (float[] v : probes) {
        float[] rgb = cs.toRGB(v);
        for (int c = 0; c < 3; c++) if (Math.abs(rgb[c] - v[c]) > 0.5f / 255) return false;
      }
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /**
   * @param p the profile converted from, or null when there is none to name
   * @return the colour note of a conversion to sRGB, e.g. "converted from ICC profile 'Adobe RGB (1998)' to sRGB"
   */
  private static String conversionNote(ICC_Profile p) {
    return "converted from ICC profile " + profileName(p) + " to sRGB";
  }

  /** A profile's description in quotes, e.g. 'Adobe RGB (1998)', or 'unnamed'. */
  private static String profileName(ICC_Profile p) {
    String desc = p == null ? "" : profileDescription(p);
    return "'" + (desc.isEmpty() ? "unnamed" : desc) + "'";
  }

  /** Reads the ICC 'desc' tag ('desc' or 'mluc' type); "" when absent. */
  static String profileDescription(ICC_Profile p) {
    try {
      byte[] t = p.getData(ICC_Profile.icSigProfileDescriptionTag);
      if (t == null || t.length < 12) return "";
      String type = new String(t, 0, 4, StandardCharsets.ISO_8859_1);
      if (type.equals("desc")) {
        int len = (int) be32(t, 8);
        len = Math.max(0, Math.min(len, t.length - 12));
        return new String(t, 12, len, StandardCharsets.ISO_8859_1).replace("\0", "").trim();
      }
      if (type.equals("mluc") && t.length >= 28) {
        int len = (int) be32(t, 20), off = (int) be32(t, 24);
        if (off >= 0 && len >= 0 && off + len <= t.length) return new String(t, off, len, StandardCharsets.UTF_16BE).trim();
      }
    } catch (RuntimeException e) {
      return "";
    }
    return "";
  }

  private static long be32(byte[] d, int p) {
    return ((long) (d[p] & 0xff) << 24) | ((d[p + 1] & 0xff) << 16) | ((d[p + 2] & 0xff) << 8) | (d[p + 3] & 0xff);
  }

  /**
   * Applies an EXIF orientation to an image (pixels and alpha) and records it in the metadata.
   *
   * @param img the stored image
   * @param orientation 1..8 (see {@link ExifOrientation})
   * @return the upright image ({@code W} and {@code H} swapped for 5..8)
   */
  public static Image orient(Image img, int orientation) {
    if (orientation == 1) return img;
    int w = img.width(), h = img.height();
    float[] rgb = ExifOrientation.apply(img.rgb(), 3, w, h, orientation);
    float[] a = img.hasAlpha() ? ExifOrientation.apply(img.alpha(), 1, w, h, orientation) : null;
    boolean swap = ExifOrientation.swapsAxes(orientation);
    Image.Metadata m = img.metadata();
    return new Image(swap ? h : w, swap ? w : h, rgb, a,
        new Image.Metadata(m.bitDepth(), m.gray(), m.format(), m.colorNote(), orientation, m.exif(), m.notice()));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Writing

  /**
   * Writes an image with {@link WriteOptions#DEFAULT}, choosing the format from the file extension.
   *
   * @param img the image
   * @param path target file (.png, .jpg/.jpeg/.jpe/.jfif, .bmp, .tif/.tiff); overwritten if it exists
   * @throws IOException when writing fails
   * @throws IllegalArgumentException for an unsupported extension
   */
  public static void write(Image img, Path path) throws IOException {
    write(img, path, WriteOptions.DEFAULT);
  }

  /**
   * Writes an image, choosing the format from the file extension.
   *
   * @param img the image
   * @param path target file; overwritten if it exists
   * @param options JPEG quality, bit depth
   * @throws IOException when writing fails
   * @throws IllegalArgumentException for an unsupported extension
   */
  public static void write(Image img, Path path, WriteOptions options) throws IOException {
    byte[] bytes = encode(img, formatForPath(path), options);
    Files.write(path, bytes);
  }

  /**
   * Writes atomically: encodes in memory, writes a temporary file in the target's folder, forces it to disk, then
   * renames it over the target (so readers see either the old or the complete new file, never a partial one) and
   * forces the folder entry. The temporary file is deleted on failure. Use {@link #requireDistinct(Path, Path)}
   * first when the target could be the input.
   *
   * @param img the image
   * @param path target file
   * @param options JPEG quality, bit depth
   * @throws IOException when writing fails
   */
  public static void writeAtomic(Image img, Path path, WriteOptions options) throws IOException {
    byte[] bytes = encode(img, formatForPath(path), options);
    writeBytesAtomic(bytes, path);
  }

  /**
   * {@link #writeAtomic(Image, Path, WriteOptions)} with {@link WriteOptions#DEFAULT}.
   *
   * @param img the image
   * @param path target file
   * @throws IOException when writing fails
   */
  public static void writeAtomic(Image img, Path path) throws IOException {
    writeAtomic(img, path, WriteOptions.DEFAULT);
  }

  /**
   * Writes bytes atomically ({@link AtomicFile}: temporary file in the same folder, fsync, atomic rename, fsync of the
   * folder; default file permissions; temporary files removed on exit and when abandoned).
   *
   * @param bytes the content
   * @param path target file
   * @throws IOException when writing fails
   */
  public static void writeBytesAtomic(byte[] bytes, Path path) throws IOException {
    AtomicFile.write(path, bytes);
  }


  /**
   * Guard against overwriting an input with an output: throws when both paths name the same file
   * ({@link RealPaths#same}: the same file when both exist, else the same path through symbolic links).
   *
   * @param input the file that was read
   * @param output the file about to be written
   * @throws IllegalArgumentException when they are the same file
   */
  public static void requireDistinct(Path input, Path output) {
    if (RealPaths.same(input, output)) {
      throw new IllegalArgumentException("refusing to overwrite the input " + input + " with the output " + output
          + "; choose another output path");
    }
  }

  /**
   * @param path a file name
   * @return the format name ("png", "jpeg", "bmp", "tiff") for its extension
   * @throws IllegalArgumentException when the extension is not writable
   */
  public static String formatForPath(Path path) {
    String ext = extension(path);
    return switch (ext) {
      case "png" -> "png";
      case "jpg", "jpeg", "jpe", "jfif" -> "jpeg";
      case "bmp" -> "bmp";
      case "tif", "tiff" -> "tiff";
      case "webp" -> throw new IllegalArgumentException("cannot write " + path
          + ": WebP writing is not supported (no maintained pure-Java WebP encoder); use .png");
      default -> throw new IllegalArgumentException("cannot write " + path + ": unknown extension '" + ext
          + "'; use one of ." + String.join(" .", WRITE_EXTENSIONS.stream().sorted().toList()));
    };
  }

  /**
   * @param path a file name
   * @return its extension in lower case without the dot ("" if none)
   */
  public static String extension(Path path) {
    String name = path.getFileName() == null ? "" : path.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
  }

  /**
   * @param path a file name
   * @return whether the extension is one {@link #read(Path)} handles (the content is not checked)
   */
  public static boolean hasImageExtension(Path path) {
    return READ_EXTENSIONS.contains(extension(path));
  }

  /**
   * Encodes an image in memory.
   *
   * @param img the image
   * @param format "png", "jpeg", "bmp" or "tiff"
   * @param options JPEG quality, bit depth
   * @return the encoded bytes
   * @throws IOException when the encoder fails
   */
  public static byte[] encode(Image img, String format, WriteOptions options) throws IOException {
    String fmt = normalizeFormat(format);
    boolean deep = fmt.equals("png") || fmt.equals("tiff");
    int bits = options.bitDepth() == 0 ? img.metadata().bitDepth() : options.bitDepth();
    if (!deep) bits = 8;
    boolean keepAlpha = img.hasAlpha() && deep;
    BufferedImage bi = toBufferedImage(img, bits, img.metadata().gray(), keepAlpha);
    Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName(fmt);
    if (!it.hasNext()) throw new IllegalArgumentException("no ImageIO writer for format " + format);
    ImageWriter writer = it.next();
    ByteArrayOutputStream bos = new ByteArrayOutputStream(img.pixelCount() + 1024);
    try (ImageOutputStream ios = ImageIO.createImageOutputStream(bos)) {
      writer.setOutput(ios);
      ImageWriteParam param = writer.getDefaultWriteParam();
      javax.imageio.metadata.IIOMetadata meta = null;
      if (fmt.equals("jpeg")) {
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(options.jpegQuality() / 100f);
        boolean full = options.jpegQuality() >= FULL_CHROMA_QUALITY && !img.metadata().gray();
        if (full) meta = fullChroma(writer, bi, param);
      } else if (fmt.equals("tiff")) {
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionType("Deflate");
      }
      writer.write(null, new IIOImage(bi, null, meta), param);
    } finally {
      writer.dispose();
    }
    byte[] exif = options.keepExif() ? img.metadata().exif() : null;
    if (exif != null && fmt.equals("jpeg")) return ExifData.intoJpeg(bos.toByteArray(), exif);
    if (exif != null && fmt.equals("png")) return ExifData.intoPng(bos.toByteArray(), exif);
    return bos.toByteArray();
  }

  /**
   * JPEG quality from which colour is stored at full resolution (4:4:4) instead of the writer's 4:2:0, as ImageMagick
   * and libjpeg's cjpeg advise for high qualities: halving the chroma blurs coloured edges, which brightening makes
   * visible, at a quality that was asked for precisely to keep detail.
   */
  public static final int FULL_CHROMA_QUALITY = 90;

  /** The writer's default JPEG metadata for {@code bi} with every component sampled 1×1 (4:4:4). */
  private static javax.imageio.metadata.IIOMetadata fullChroma(ImageWriter writer, BufferedImage bi,
      ImageWriteParam param) throws IOException {
    javax.imageio.metadata.IIOMetadata meta = writer.getDefaultImageMetadata(
        javax.imageio.ImageTypeSpecifier.createFromRenderedImage(bi), param);
    String format = "javax_imageio_jpeg_image_1.0";
    org.w3c.dom.Node tree = meta.getAsTree(format);
    org.w3c.dom.NodeList specs = ((org.w3c.dom.Element) tree).getElementsByTagName("componentSpec");
    for (int i = 0; i < specs.getLength(); i++) {
      org.w3c.dom.Element c = (org.w3c.dom.Element) specs.item(i);
      c.setAttribute("HsamplingFactor", "1");
      c.setAttribute("VsamplingFactor", "1");
    }
    meta.setFromTree(format, tree);
    return meta;
  }

  /**
   * Quantises an image into a {@link BufferedImage}.
   *
   * @param img the image
   * @param bits 8 or 16
   * @param gray store one grey channel (BT.601 luma {@code 0.299 R + 0.587 G + 0.114 B})
   * @param withAlpha attach the alpha plane (ignored when the image has none)
   * @return the image
   */
  public static BufferedImage toBufferedImage(Image img, int bits, boolean gray, boolean withAlpha) {
    if (bits != 8 && bits != 16) throw new IllegalArgumentException("bits must be 8 or 16, got " + bits);
    withAlpha &= img.hasAlpha();
    int w = img.width(), h = img.height(), n = w * h;
    float[] p = img.rgb();
    BufferedImage bi;
    if (bits == 8 && !gray && !withAlpha) bi = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    else if (bits == 8 && !gray) bi = new BufferedImage(w, h, BufferedImage.TYPE_4BYTE_ABGR);
    else if (bits == 8 && !withAlpha) bi = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    else if (bits == 16 && gray && !withAlpha) bi = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
    else {
      ColorSpace cs = ColorSpace.getInstance(gray ? ColorSpace.CS_GRAY : ColorSpace.CS_sRGB);
      ComponentColorModel cm = new ComponentColorModel(cs, withAlpha, false,
          withAlpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE,
          bits == 16 ? DataBuffer.TYPE_USHORT : DataBuffer.TYPE_BYTE);
      bi = new BufferedImage(cm, cm.createCompatibleWritableRaster(w, h), false, null);
    }
    WritableRaster r = bi.getRaster();
    int max = bits == 16 ? 65535 : 255;
    int[] buf = new int[n];
    if (gray) {
      for (int i = 0; i < n; i++) buf[i] = quantize(luma(p, n, i), max);
      r.setSamples(0, 0, w, h, 0, buf);
    } else {
      for (int c = 0; c < 3; c++) {
        for (int i = 0; i < n; i++) buf[i] = quantize(p[c * n + i], max);
        r.setSamples(0, 0, w, h, c, buf);
      }
    }
    if (withAlpha) {
      float[] a = img.alpha();
      for (int i = 0; i < n; i++) buf[i] = quantize(a[i], max);
      r.setSamples(0, 0, w, h, gray ? 1 : 3, buf);
    }
    return bi;
  }

  /**
   * @param p three planes of {@code n} samples ({@code [3, H, W]})
   * @param n the samples per plane
   * @param i the pixel
   * @return the pixel's BT.601 luma {@code 0.299 R + 0.587 G + 0.114 B}, or the sample itself where the three are
   *     equal (a grey image's: the weights' float sum is not exactly 1)
   */
  public static float luma(float[] p, int n, int i) {
    float r = p[i], g = p[n + i], b = p[2 * n + i];
    return r == g && g == b ? r : 0.299f * r + 0.587f * g + 0.114f * b;
  }

  private static int quantize(float v, int max) {
    if (!(v > 0)) return 0;
    if (v >= 1) return max;
    return Math.round(v * max);
  }

  /**
   * @param path a path
   * @return whether it is a regular file or a symbolic link to one
   */
  static boolean isFile(Path path) {
    return Files.isRegularFile(path) || Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS);
  }
}
