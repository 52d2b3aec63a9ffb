/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.data.OutputMark;
import org.deepspg.data.ReadOptions;
import org.deepspg.data.WriteOptions;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.InferTestSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deepspg enhance}: inputs, outputs, formats, bad files, never overwriting inputs. */
class EnhanceCommandTest {
  @TempDir static Path shared;
  static Path model;

  @BeforeAll
  static void exportModel() throws IOException {
    model = InferTestSupport.exportRandom(shared, "tiny.pth", InferTestSupport.tinyBaseline(), 1);
  }

  static Image img(int h, int w, long seed) {
    return InferTestSupport.darkImage(h, w, seed);
  }

  /** A PNG whose header claims 100000 x 100000 pixels (10 gigapixels) with a tiny body. */
  static byte[] pngBomb() {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(100_000).putInt(100_000);
    ihdr.put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
    chunk(o, "IHDR", ihdr.array());
    chunk(o, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
    chunk(o, "IEND", new byte[0]);
    return o.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream o, String type, byte[] data) {
    byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
    o.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    o.writeBytes(t);
    o.writeBytes(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    o.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  @Test
  void badInputsAreReportedAndTheGoodOnesStillWritten(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("in"));
    Path sub = Files.createDirectories(in.resolve("sub"));
    Images.write(img(24, 32, 1), in.resolve("good1.png"));
    Images.write(img(20, 28, 2), sub.resolve("good2.jpg"));
    Files.write(in.resolve("empty.png"), new byte[0]);
    byte[] jpg = Images.encode(img(40, 40, 3), "jpeg", WriteOptions.DEFAULT);
    Files.write(in.resolve("truncated.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
    Files.writeString(in.resolve("notes.png"), "this is not an image\n");
    Images.write(Image.of(1, 1, new float[] {0.1f, 0.1f, 0.1f}), in.resolve("one.png"));
    Files.write(in.resolve("bomb.png"), pngBomb());
    Files.createSymbolicLink(in.resolve("dangling.png"), dir.resolve("does-not-exist.png"));
    Path out = dir.resolve("out");

    CliTestSupport.Result r = CliTestSupport.run("enhance", in.toString(), dir.resolve("missing.jpg").toString(),
        "-o", out.toString(), "--model", model.toString());

    assertEquals(Main.EXIT_SOME_FAILED, r.code(), r.all());
    assertTrue(Files.isRegularFile(out.resolve("good1.png")), "good PNG written");
    assertTrue(Files.isRegularFile(out.resolve("sub/good2.jpg")), "good JPEG written under its sub-folder");
    assertEquals(24, Images.read(out.resolve("good1.png")).height());
    for (String bad : new String[] {"empty.png", "truncated.jpg", "notes.png", "one.png", "bomb.png",
        "dangling.png", "missing.jpg"}) {
      assertTrue(r.err().lines().anyMatch(l -> l.startsWith("deepspg: ") && l.contains(bad)),
          "an error line names " + bad + ":\n" + r.err());
      assertFalse(Files.exists(out.resolve(bad)), "nothing written for " + bad);
    }
    assertTrue(r.err().contains("pixels"), "the bomb is refused for its pixel count:\n" + r.err());
    assertTrue(r.out().contains("enhanced 2 of "), r.out());
    // No temporary files are left behind.
    try (var s = Files.walk(out)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
    }
  }

  /**
   * A folder copied from a camera card by a Mac, or kept on a NAS: the {@code ._NAME} companions each failed (exit 1
   * on every run), thumbnail folders were enhanced into the output, other types and linked folders were left out
   * without a word (the photo audit, session 35). Now they are skipped and counted in one note; the run exits 0.
   */
  @Test
  void foldersSkipHiddenFilesAndSaySoWhatElseTheyLeaveOut(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("card"));
    Images.write(img(16, 16, 1), in.resolve("IMG_0001.png"));
    Files.write(in.resolve("._IMG_0001.png"), new byte[] {0, 5, 22, 7, 0, 2, 0, 0}); // AppleDouble header
    Images.write(img(16, 16, 2), Files.createDirectories(in.resolve(".thumbnails")).resolve("t.png"));
    Images.write(img(16, 16, 3), Files.createDirectories(in.resolve("@eaDir/IMG_0001.png")).resolve("SYNO.png"));
    Files.writeString(in.resolve("IMG_0002.HEIC"), "not read");
    Files.writeString(in.resolve("IMG_0002.xmp"), "<x/>");
    Path other = Files.createDirectories(dir.resolve("other"));
    Images.write(img(16, 16, 4), other.resolve("o.png"));
    Files.createSymbolicLink(in.resolve("linked"), other);
    Path out = dir.resolve("out");
    CliTestSupport.Result r = CliTestSupport.run("enhance", in.toString(), "-o", out.toString(), "--model",
        model.toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(Files.exists(out.resolve("IMG_0001.png")), r.all());
    try (java.util.stream.Stream<Path> s = Files.walk(out)) {
      assertEquals(1, s.filter(Files::isRegularFile).count(), "only the photo is enhanced: " + r.all());
    }
    assertTrue(r.err().contains("skipped 3 hidden files (names starting with '.', @eaDir folders), 1 image of "
        + "formats not read (.heic 1), 1 linked folder (not followed; give it as an input)"), r.err());
    assertTrue(r.out().contains("s/image"), r.out());
    // A glob leaves hidden files and NAS thumbnails out too, unless it names them.
    CliTestSupport.Result glob = CliTestSupport.run("enhance", in + "/**.png", "-o", dir.resolve("out3").toString(),
        "--model", model.toString());
    assertEquals(0, glob.code(), glob.all());
    try (java.util.stream.Stream<Path> s = Files.walk(dir.resolve("out3"))) {
      assertEquals(1, s.filter(Files::isRegularFile).count(), "only the photo: " + glob.all());
    }
    assertTrue(glob.err().contains("skipped 3 hidden files"), glob.err());
    CliTestSupport.Result named = CliTestSupport.run("enhance", in + "/.thumbnails/*.png", "-o",
        dir.resolve("out4").toString(), "--model", model.toString());
    assertEquals(0, named.code(), named.all());
    assertTrue(Files.exists(dir.resolve("out4/t.png")), named.all());
    // A linked input folder is walked through, and is not itself a "linked folder" left out.
    CliTestSupport.Result viaLink = CliTestSupport.run("enhance", in.resolve("linked").toString(), "-o",
        dir.resolve("out2").toString(), "--model", model.toString());
    assertEquals(0, viaLink.code(), viaLink.all());
    assertTrue(Files.exists(dir.resolve("out2/o.png")), viaLink.all());
    assertFalse(viaLink.err().contains("skipped"), viaLink.err());
  }

  /** --skip-existing resumes a run: existing outputs are left as they are, missing ones are made. */
  @Test
  void skipExistingResumesARun(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("in"));
    Images.write(img(16, 16, 1), in.resolve("a.png"));
    Images.write(img(16, 16, 2), in.resolve("b.png"));
    Path out = dir.resolve("out");
    CliTestSupport.Result first = CliTestSupport.run("enhance", in.toString(), "-o", out.toString(), "--model",
        model.toString());
    assertEquals(0, first.code(), first.all());
    byte[] b = Files.readAllBytes(out.resolve("b.png"));
    Files.delete(out.resolve("b.png")); // the run was interrupted before b
    Files.writeString(out.resolve("a.png"), "kept"); // proves a is not written again
    CliTestSupport.Result r = CliTestSupport.run("enhance", in.toString(), "-o", out.toString(), "--model",
        model.toString(), "--skip-existing");
    assertEquals(0, r.code(), r.all());
    assertTrue(r.err().contains("1 of 2 outputs exist already; enhancing the other 1"), r.err());
    assertEquals("kept", Files.readString(out.resolve("a.png")));
    assertArrayEquals(b, Files.readAllBytes(out.resolve("b.png")), "b made as in the first run");
    CliTestSupport.Result none = CliTestSupport.run("enhance", in.toString(), "-o", out.toString(), "--model",
        model.toString(), "--skip-existing");
    assertEquals(0, none.code(), none.all());
    assertTrue(none.out().contains("nothing to do"), none.out());
  }

  /**
   * {@code enhance photos/2024 -o photos} replaced photos/a.jpg, a photo deepspg had not written, with the enhanced
   * 2024/a.jpg, exit 0 (the CLI audit). A file in OUTDIR is now replaced only when it bears deepspg's mark (an earlier
   * output), holds the pixels this run writes (an output from before the mark) or with --overwrite; else it is kept,
   * its image skipped with one line, exit 1.
   */
  @Test
  void aFileInOutdirThatDeepspgDidNotWriteIsKept(@TempDir Path dir) throws IOException {
    Path photos = Files.createDirectories(dir.resolve("photos"));
    Path year = Files.createDirectories(photos.resolve("2024"));
    Images.write(img(24, 32, 1), photos.resolve("a.jpg")); // the user's photos, of the inputs' names
    Images.write(img(20, 20, 2), photos.resolve("d.png"));
    Images.write(img(24, 32, 3), year.resolve("a.jpg"));
    Images.write(img(16, 16, 4), year.resolve("b.png"));
    Images.write(img(16, 24, 5), year.resolve("c.tif"));
    Images.write(img(16, 16, 6), year.resolve("d.png"));
    byte[] a = Files.readAllBytes(photos.resolve("a.jpg"));
    byte[] d = Files.readAllBytes(photos.resolve("d.png"));
    String[] args = {"enhance", year.toString(), "-o", photos.toString(), "--model", model.toString()};
    CliTestSupport.Result r = CliTestSupport.run(args);
    assertEquals(Main.EXIT_SOME_FAILED, r.code(), r.all());
    assertArrayEquals(a, Files.readAllBytes(photos.resolve("a.jpg")), "the user's photo is kept");
    assertArrayEquals(d, Files.readAllBytes(photos.resolve("d.png")), "the user's photo is kept");
    for (String kept : new String[] {"a.jpg", "d.png"}) {
      assertTrue(r.err().contains(photos.resolve(kept) + " exists and was not written by deepspg"), r.err());
    }
    assertTrue(r.out().contains("enhanced 2 of 4 images")
        && r.out().contains("2 failed (2 of them kept a file deepspg did not write)"), r.out());
    for (String made : new String[] {"b.png", "c.tif"}) {
      assertTrue(OutputMark.isMarked(photos.resolve(made)), made + " bears the mark");
    }
    // A rerun replaces its earlier outputs: marked ones, and one of the same pixels without the mark (written before
    // outputs were marked).
    byte[] b = Files.readAllBytes(photos.resolve("b.png"));
    Files.write(photos.resolve("b.png"), OutputMark.mark(Images.encode(img(16, 16, 9), "png",
        WriteOptions.DEFAULT), "png"));
    Images.write(Images.read(photos.resolve("c.tif")), photos.resolve("c.tif"));
    assertFalse(OutputMark.isMarked(photos.resolve("c.tif")));
    CliTestSupport.Result again = CliTestSupport.run(args);
    assertEquals(Main.EXIT_SOME_FAILED, again.code(), again.all());
    assertArrayEquals(b, Files.readAllBytes(photos.resolve("b.png")), "an earlier output is replaced");
    assertTrue(OutputMark.isMarked(photos.resolve("c.tif")), "an unmarked earlier output too");
    assertTrue(again.out().contains("enhanced 2 of 4 images"), again.out());
    assertArrayEquals(a, Files.readAllBytes(photos.resolve("a.jpg")), "the user's photo is still kept");
    // --overwrite replaces every file; --skip-existing with it is a contradiction.
    CliTestSupport.Result both = CliTestSupport.run(
        Stream.concat(Arrays.stream(args), Stream.of("--overwrite", "--skip-existing")).toArray(String[]::new));
    assertEquals(2, both.code(), both.all());
    CliTestSupport.Result forced = CliTestSupport.run(
        Stream.concat(Arrays.stream(args), Stream.of("--overwrite")).toArray(String[]::new));
    assertEquals(0, forced.code(), forced.all());
    assertTrue(OutputMark.isMarked(photos.resolve("a.jpg")), forced.all());
  }

  @Test
  void refusesToOverwriteInputs(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("photos"));
    Path a = in.resolve("a.png");
    Images.write(img(16, 16, 4), a);
    byte[] before = Files.readAllBytes(a);
    CliTestSupport.Result r1 = CliTestSupport.run("enhance", in.toString(), "-o", in.toString(), "--model",
        model.toString());
    assertEquals(2, r1.code(), r1.all());
    assertTrue(r1.err().contains("refusing"), r1.err());
    CliTestSupport.Result r2 = CliTestSupport.run("enhance", a.toString(), "-o", in.resolve(".").toString(),
        "--model", model.toString());
    assertEquals(2, r2.code(), r2.all());
    assertArrayEquals(before, Files.readAllBytes(a), "input untouched");
    // An output folder inside the input folder is fine, and is not read back as input.
    Path nested = in.resolve("enhanced");
    CliTestSupport.Result r3 = CliTestSupport.run("enhance", in.toString(), "-o", nested.toString(), "--model",
        model.toString());
    assertEquals(0, r3.code(), r3.all());
    CliTestSupport.Result r4 = CliTestSupport.run("enhance", in.toString(), "-o", nested.toString(), "--model",
        model.toString());
    assertEquals(0, r4.code(), r4.all());
    assertTrue(r4.out().contains("enhanced 1 of 1"), "previous outputs are not inputs: " + r4.out());
    assertArrayEquals(before, Files.readAllBytes(a), "input untouched");
  }

  @Test
  void sixteenBitPngStaysSixteenBit(@TempDir Path dir) throws Exception {
    Image src = img(20, 24, 5);
    src = src.withMetadata(src.metadata().withBitDepth(16));
    Path f = dir.resolve("deep.png");
    Images.write(src, f);
    Image read = Images.read(f);
    assertEquals(16, read.metadata().bitDepth());
    Path out = dir.resolve("out");
    CliTestSupport.Result r = CliTestSupport.run("enhance", f.toString(), "-o", out.toString(), "--model",
        model.toString());
    assertEquals(0, r.code(), r.all());
    Image res = Images.read(out.resolve("deep.png"));
    assertEquals(16, res.metadata().bitDepth(), "16-bit PNG in, 16-bit PNG out");
    try (Enhancer e = Enhancer.builder().checkpoint(model).build()) {
      float[] expect = e.enhance(read).rgb();
      float[] got = res.rgb();
      float max = 0;
      for (int i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - Math.max(0, Math.min(1, expect[i]))));
      // 16-bit quantisation: half a step; an 8-bit path would be off by up to 1/510.
      assertTrue(max <= 1.0f / 65535 + 1e-6f, "16-bit precision kept, max error " + max);
    }
  }

  /**
   * Two RGBA PNGs that look the same (transparent margins, black under one, white under the other) come out the
   * same where they are visible, with their alpha, as the API enhances the first (the colour under alpha 0 used to
   * move the visible pixels by 43–45 levels on average; the API audit of session 39).
   */
  @Test
  void whatLiesUnderTransparentPixelsDoesNotChangeTheOutput(@TempDir Path dir) throws Exception {
    Image base = img(32, 48, 9);
    int n = 32 * 48;
    float[] alpha = new float[n];
    Path in = Files.createDirectories(dir.resolve("cutouts"));
    for (int i = 0; i < n; i++) alpha[i] = i % 48 < 8 || i % 48 >= 40 ? 0 : 1;
    for (float hidden : new float[] {0, 1}) {
      float[] rgb = base.rgb().clone();
      for (int i = 0; i < 3 * n; i++) if (alpha[i % n] == 0) rgb[i] = hidden;
      Images.write(new Image(48, 32, rgb, alpha, base.metadata()), in.resolve(hidden == 0 ? "black.png" : "white.png"));
    }
    Path out = dir.resolve("out");
    CliTestSupport.Result r = CliTestSupport.run("enhance", in.toString(), "-o", out.toString(), "--model",
        model.toString());
    assertEquals(0, r.code(), r.all());
    Image b = Images.read(out.resolve("black.png")), w = Images.read(out.resolve("white.png"));
    assertArrayEquals(alpha, b.alpha(), "alpha kept");
    try (Enhancer e = Enhancer.builder().checkpoint(model).build()) {
      float[] expect = e.enhance(Images.read(in.resolve("black.png"))).rgb();
      for (int i = 0; i < 3 * n; i++) {
        if (alpha[i % n] == 0) continue;
        assertEquals(b.rgb()[i], w.rgb()[i], 0f, "sample " + i);
        assertEquals(Math.round(255 * Math.max(0, Math.min(1, expect[i]))) / 255f, b.rgb()[i], 1e-6f, "sample " + i);
      }
    }
  }

  /**
   * What reading did that the file did not ask for reaches the user: a PNG whose ICC profile cannot be used is
   * enhanced as sRGB, and a line says so (the profile was ignored in silence or the file refused, the I/O audit).
   */
  @Test
  void anIgnoredProfileIsSaid(@TempDir Path dir) throws IOException {
    byte[] png = Images.encode(img(16, 16, 4), "png", WriteOptions.DEFAULT);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.write(png, 0, 33); // signature and IHDR
    chunk(o, "iCCP", "p\0\0not zlib data".getBytes(StandardCharsets.ISO_8859_1));
    o.write(png, 33, png.length - 33);
    Path in = dir.resolve("tagged.png");
    Files.write(in, o.toByteArray());
    CliTestSupport.Result r = CliTestSupport.run("enhance", in.toString(), "-o", dir.resolve("o").toString(),
        "--model", model.toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(r.err().contains("tagged.png: an unusable ICC profile ignored (corrupt iCCP profile): the pixels "
        + "read as sRGB"), r.all());
  }

  @Test
  void exifOrientationIsHonoured(@TempDir Path dir) throws Exception {
    // Stored 32 wide x 16 high with orientation 6 (rotate 90 CW): upright it is 16 wide x 32 high.
    byte[] jpg = Images.encode(img(16, 32, 6), "jpeg", WriteOptions.DEFAULT);
    Path f = dir.resolve("rotated.jpg");
    Files.write(f, jpegWithOrientation6(jpg));
    Image upright = Images.read(f);
    assertEquals(16, upright.width());
    assertEquals(32, upright.height());
    Path out = dir.resolve("out");
    CliTestSupport.Result r = CliTestSupport.run("enhance", f.toString(), "-o", out.toString(), "--model",
        model.toString());
    assertEquals(0, r.code(), r.all());
    Path res = out.resolve("rotated.jpg");
    Image raw = Images.read(res, ReadOptions.DEFAULT.withExifOrientation(false));
    assertEquals(16, raw.width(), "output stored upright (no orientation tag to rely on)");
    assertEquals(32, raw.height());
    Path ref = dir.resolve("ref.jpg");
    try (Enhancer e = Enhancer.builder().checkpoint(model).build()) {
      Images.writeAtomic(e.enhance(upright), ref);
    }
    assertArrayEquals(OutputMark.mark(Files.readAllBytes(ref), "jpeg"), Files.readAllBytes(res),
        "same pixels as enhancing the upright image (and enhance's mark)");
    // The input's EXIF block comes along with its orientation set to upright; --strip-metadata leaves it out.
    assertEquals(1, org.deepspg.data.ExifOrientation.find(Files.readAllBytes(res)));
    assertTrue(new String(Files.readAllBytes(res), java.nio.charset.StandardCharsets.ISO_8859_1).contains("Exif\0\0"));
    Path stripped = dir.resolve("stripped");
    CliTestSupport.Result s = CliTestSupport.run("enhance", f.toString(), "-o", stripped.toString(), "--model",
        model.toString(), "--strip-metadata");
    assertEquals(0, s.code(), s.all());
    assertFalse(new String(Files.readAllBytes(stripped.resolve("rotated.jpg")),
        java.nio.charset.StandardCharsets.ISO_8859_1).contains("Exif\0\0"), "stripped");
  }

  /** Inserts an APP1 Exif segment (little-endian TIFF, IFD0 with Orientation = 6) after the SOI marker. */
  static byte[] jpegWithOrientation6(byte[] jpg) {
    ByteBuffer t = ByteBuffer.allocate(26).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    t.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8).putShort((short) 1);
    t.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) 6).putShort((short) 0).putInt(0);
    byte[] tiff = t.array();
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.write(jpg, 0, 2);
    int len = 2 + 6 + tiff.length;
    o.write(0xff);
    o.write(0xe1);
    o.write(len >> 8);
    o.write(len & 0xff);
    o.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
    o.writeBytes(tiff);
    o.write(jpg, 2, jpg.length - 2);
    return o.toByteArray();
  }

  @Test
  void globsAndFormats(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("shots"));
    Images.write(img(16, 24, 7), in.resolve("x.png"));
    Images.write(img(16, 24, 8), in.resolve("y.bmp"));
    Images.write(img(16, 24, 9), in.resolve("z.tif"));
    Path out = dir.resolve("o");
    CliTestSupport.Result r = CliTestSupport.run("enhance", in.resolve("*.{png,bmp}").toString(), "-o",
        out.toString(), "--model", model.toString(), "--tile", "64");
    assertEquals(0, r.code(), r.all());
    assertTrue(Files.isRegularFile(out.resolve("x.png")));
    assertTrue(Files.isRegularFile(out.resolve("y.bmp")), "format kept");
    assertFalse(Files.exists(out.resolve("z.tif")), "not matched by the glob");
    assertTrue(r.out().contains("images/s"), r.out());
    CliTestSupport.Result none = CliTestSupport.run("enhance", in.resolve("*.gif").toString(), "-o",
        out.toString(), "--model", model.toString());
    assertEquals(Main.EXIT_SOME_FAILED, none.code(), none.all());
    assertTrue(none.err().contains("no file matches"), none.err());
    assertEquals("a.png", EnhanceCommand.outputName(Path.of("a.webp")).toString(), "WebP is written as PNG");
    // JFIF is JPEG: the name stays, as for .jpg (photo.jfif came out as photo.png: the I/O audit)
    assertEquals("d/photo.jfif", EnhanceCommand.outputName(Path.of("d/photo.jfif")).toString());
    assertEquals("photo.jpe", EnhanceCommand.outputName(Path.of("photo.jpe")).toString());
  }

  /** An input folder that is a symbolic link was "a folder with no images" (Files.walk stops at the link). */
  @Test
  void aSymbolicallyLinkedInputFolderIsRead(@TempDir Path dir) throws IOException {
    Path real = Files.createDirectories(dir.resolve("real"));
    Images.write(img(16, 16, 3), real.resolve("a.png"));
    Path link = Files.createSymbolicLink(dir.resolve("link"), real);
    CliTestSupport.Result r = CliTestSupport.run("enhance", link.toString(), "-o", dir.resolve("o").toString(),
        "--model", model.toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(Files.isRegularFile(dir.resolve("o/a.png")), r.all());
    CliTestSupport.Result g = CliTestSupport.run("enhance", link + "/*.png", "-o", dir.resolve("g").toString(),
        "--model", model.toString());
    assertEquals(0, g.code(), g.all());
    assertTrue(Files.isRegularFile(dir.resolve("g/a.png")), g.all());
  }

  @Test
  void aRerunThroughALinkedInputFolderDoesNotReadItsOutputsBack(@TempDir Path dir) throws IOException {
    // A nightly job: `enhance LINK -o REAL/out` where LINK -> REAL. The second run saw REAL/out through the link
    // (LINK/out/a.png) as an input and refused to start ("would overwrite the input").
    Path real = Files.createDirectories(dir.resolve("real"));
    Images.write(img(16, 16, 3), real.resolve("a.png"));
    Path link = Files.createSymbolicLink(dir.resolve("link"), real);
    for (int run = 1; run <= 2; run++) {
      CliTestSupport.Result r = CliTestSupport.run("enhance", link.toString(), "-o", real.resolve("out").toString(),
          "--model", model.toString());
      assertEquals(0, r.code(), "run " + run + ": " + r.all());
      assertTrue(r.out().contains("enhanced 1 of 1"), "run " + run + ": " + r.all());
    }
    assertFalse(Files.exists(real.resolve("out/out")), "the first run's output was enhanced again");
  }

  @Test
  void aNameTheJvmCannotEncodeFailsAloneUnderACLocale(@TempDir Path dir) throws Exception {
    // Under LC_ALL=C (cron, minimal containers) JDK 17 converts file names as ASCII; one café.png stopped the whole
    // run with exit 2 before any image was done. Now that file is reported and the others are enhanced.
    assumeTrue("UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding")), "needs a UTF-8 test JVM to name it");
    Path in = Files.createDirectories(dir.resolve("in"));
    Images.write(img(16, 16, 3), in.resolve("ok.png"));
    Images.write(img(16, 16, 4), in.resolve("caf\u00e9.png"));
    Process p = jvm(dir, Map.of("LC_ALL", "C"), "-Xmx1g", "enhance", "in", "-o", "out", "--model", model.toString());
    String text = output(p);
    assertTrue(Files.isRegularFile(dir.resolve("out/ok.png")), text);
    if (p.exitValue() == 0) { // a JVM that converts names as UTF-8 whatever the locale: both are done
      assertTrue(Files.isRegularFile(dir.resolve("out/caf\u00e9.png")), text);
    } else {
      assertEquals(Main.EXIT_SOME_FAILED, p.exitValue(), text);
      assertTrue(text.contains("cannot be converted") && text.contains("LC_ALL=C.UTF-8"), text);
    }
  }

  /**
   * File names that are not valid UTF-8 (Latin-1, from old archives): Java lists them with U+FFFD in their strings,
   * and the output was named after that string, so two such inputs collided ("is already the output of ...") and the
   * one written was misnamed (the CLI audit). Outputs now keep the names' bytes. Such a name given on the command line
   * cannot be opened by Java at all: one line says why and how to rename it, instead of "no such file".
   */
  @Test
  void namesThatAreNotUtf8KeepTheirBytes(@TempDir Path dir) throws Exception {
    assumeTrue("UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding")), "a UTF-8 test JVM");
    Path in = Files.createDirectories(dir.resolve("in"));
    Images.write(img(16, 16, 1), in.resolve("ok.png"));
    Process p = new ProcessBuilder("sh", "-c", "cp ok.png \"$(printf 'caf\\350.png')\" && "
        + "cp ok.png \"$(printf 'caf\\351.png')\"").directory(in.toFile()).redirectErrorStream(true).start();
    String made = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assumeTrue(p.waitFor() == 0, "the file system takes names that are not UTF-8: " + made);
    List<Path> latin1;
    try (java.util.stream.Stream<Path> s = Files.list(in)) {
      latin1 = s.filter(f -> f.toString().contains("\uFFFD")).toList();
    }
    assertEquals(2, latin1.size(), "listed with U+FFFD: " + latin1);
    Path out = dir.resolve("out");
    CliTestSupport.Result r = CliTestSupport.run("enhance", in.toString(), "-o", out.toString(), "--model",
        model.toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains("enhanced 3 of 3 images"), r.out());
    for (Path f : latin1) {
      assertTrue(Files.isRegularFile(out.resolve(in.relativize(f))), "the output keeps the name's bytes: " + f);
    }
    CliTestSupport.Result direct = CliTestSupport.run("enhance", latin1.get(0).toString(), "-o",
        dir.resolve("out2").toString(), "--model", model.toString());
    assertEquals(Main.EXIT_SOME_FAILED, direct.code(), direct.all());
    assertTrue(direct.err().contains("its name is not valid UTF-8") && direct.err().contains("convmv"), direct.all());
    assertEquals(1, direct.err().lines().filter(l -> l.contains("UTF-8")).count(), "one line: " + direct.all());
    // A WebP's output is a PNG named from the string: refused by name instead of misnamed.
    Path webp = Files.createDirectories(dir.resolve("webp"));
    Process w = new ProcessBuilder("sh", "-c", "printf x > \"$(printf 'caf\\351.webp')\"").directory(webp.toFile())
        .start();
    assertEquals(0, w.waitFor());
    CliTestSupport.Result wr = CliTestSupport.run("enhance", webp.toString(), "-o", dir.resolve("out3").toString(),
        "--model", model.toString());
    assertEquals(Main.EXIT_SOME_FAILED, wr.code(), wr.all());
    assertTrue(wr.err().contains("not valid UTF-8") && wr.err().contains("cannot be named after it"), wr.all());
    CliTestSupport.Result badOut = CliTestSupport.run("enhance", in.resolve("ok.png").toString(), "-o",
        dir.resolve("caf\uFFFD").toString(), "--model", model.toString());
    assertEquals(2, badOut.code(), badOut.all());
    assertTrue(badOut.err().contains("-o") && badOut.err().contains("not valid UTF-8"), badOut.all());
  }

  @Test
  void anImageTooLargeForTheJavaHeapFailsAloneAndNamed(@TempDir Path dir) throws Exception {
    // One photo too big for a small -Xmx stopped the whole batch (exit 2) without naming it; the others never ran.
    Path in = Files.createDirectories(dir.resolve("in"));
    Images.write(new Image(3000, 2000, new float[3000 * 2000 * 3], null, img(1, 1, 1).metadata()), in.resolve("a.png"));
    Images.write(img(16, 16, 3), in.resolve("b.png"));
    Process p = jvm(dir, Map.of(), "-Xmx100m", "enhance", "in", "-o", "out", "--model", model.toString());
    String text = output(p);
    assertEquals(Main.EXIT_SOME_FAILED, p.exitValue(), text);
    assertTrue(text.contains("a.png: not enough Java heap"), text);
    assertTrue(Files.isRegularFile(dir.resolve("out/b.png")), text);
  }

  @Test
  void anUnwritableNativeLibraryCacheIsOneLineNamingTheFix(@TempDir Path dir) throws Exception {
    // A container with a read-only root: JavaCPP can create its cache neither in the home nor in the temporary
    // folder. That was an "internal error" with a stack trace and advice to run mvn install.
    Path f = dir.resolve("a.png");
    Images.write(img(16, 16, 3), f);
    Process p = jvm(dir, Map.of(), "-Duser.home=/proc/self", "-Djava.io.tmpdir=/proc/self", "-Xmx1g", "enhance",
        f.toString(), "-o", "out", "--model", model.toString());
    String text = output(p);
    assertEquals(2, p.exitValue(), text);
    assertTrue(text.contains("org.bytedeco.javacpp.cachedir") && !text.contains("internal error"), text);
    assertEquals(1, text.strip().lines().count(), text);
  }

  /** Starts the CLI in a JVM of its own (JVM options, then arguments), in {@code dir}, with {@code env} added. */
  private static Process jvm(Path dir, Map<String, String> env, String... jvmOptionsThenArgs) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    int k = 0;
    while (k < jvmOptionsThenArgs.length && jvmOptionsThenArgs[k].startsWith("-")) cmd.add(jvmOptionsThenArgs[k++]);
    cmd.addAll(List.of("-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
        Main.class.getName()));
    cmd.addAll(List.of(jvmOptionsThenArgs).subList(k, jvmOptionsThenArgs.length));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    if (env.containsKey("LC_ALL")) pb.environment().keySet().removeIf(e -> e.startsWith("LC_") || e.equals("LANG"));
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Everything the process printed, once it ended (five minutes at most). */
  private static String output(Process p) throws Exception {
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), text);
    System.out.println(text);
    return text;
  }

  @Test
  void priorWeightsForAModelWithoutSemsAreNamedAsUnused(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("a.png");
    Images.write(img(16, 16, 3), f);
    CliTestSupport.Result r = CliTestSupport.run("enhance", f.toString(), "-o", dir.resolve("o").toString(),
        "--model", model.toString(), "--prior-weights", f.toString(), "--hrnet-config", "{}");
    assertEquals(0, r.code(), r.all());
    assertTrue(r.err().contains("--prior-weights is not used") && r.err().contains("has no SEMs"), r.all());
    assertTrue(r.err().contains("--hrnet-config is not used"), "was accepted without a word: " + r.all());
  }

  @Test
  void aModelTrainedWithAnotherHrnetTopologyRunsWithHrnetConfig(@TempDir Path dir) throws IOException {
    // train's hrnet.config: a W48-width HRNet of another depth. enhance had no way to name it, and refused the right
    // weights file as "not the HRNet-W48 ADE20K weights" (only eval had --hrnet-config).
    org.deepspg.train.TrainTestSupport.HrnetFiles hr = org.deepspg.train.TrainTestSupport.writeTinyHrnet(dir, 3);
    Path sem = InferTestSupport.exportRandom(dir, "sem.pth",
        org.deepspg.model.DeepSPGConfig.s().withChannels(8).withBlocks(1, 1, 1), 6);
    Path f = dir.resolve("a.png");
    Images.write(img(40, 72, 3), f);
    CliTestSupport.Result without = CliTestSupport.run("enhance", f.toString(), "-o", dir.resolve("o1").toString(),
        "--model", sem.toString(), "--prior-weights", hr.weights().toString());
    assertEquals(2, without.code(), without.all());
    assertTrue(without.err().contains("unusable") && without.err().contains("--hrnet-config JSON"), without.all());
    CliTestSupport.Result with = CliTestSupport.run("enhance", f.toString(), "-o", dir.resolve("o2").toString(),
        "--model", sem.toString(), "--prior-weights", hr.weights().toString(), "--hrnet-config", hr.config().toString());
    assertEquals(0, with.code(), with.all());
    assertTrue(Files.isRegularFile(dir.resolve("o2/a.png")), with.all());
  }

  @Test
  void modelErrorsAreUsageErrors(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("a.png");
    Images.write(img(16, 16, 10), f);
    CliTestSupport.Result r = CliTestSupport.run("enhance", f.toString(), "-o", dir.resolve("o").toString(),
        "--model", dir.resolve("nope.pth").toString());
    assertEquals(2, r.code(), r.all());
    CliTestSupport.Result t = CliTestSupport.run("enhance", f.toString(), "-o", dir.resolve("o").toString(),
        "--model", model.toString(), "--tile", "50");
    assertEquals(2, t.code(), t.all());
    assertTrue(t.err().contains("--tile"), t.err());
  }
}
