/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deepspg.cli.Main;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.ops.OneDnn;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EnhanceImages} and {@link SparkEnhance#run} in an embedded {@code local[2,2]} Spark (2 threads, a task may
 * fail once and be retried), one session for the class: outputs byte-identical to {@code deepspg enhance}, a bad file
 * among good ones, a task that fails after writing and is retried.
 */
class EnhanceImagesTest {
  /** oneDNN stays off in this JVM (its setting is process-wide), as in {@code enhance --onednn off}. */
  private static final EnhancerSettings SETTINGS = EnhancerSettings.defaults().withOneDnn(OneDnn.Mode.OFF);

  private static SparkSession spark;
  /** {@code deepspg enhance --onednn off samples} outputs, by file name. */
  private static Map<String, byte[]> expected;
  @TempDir static Path shared;

  @BeforeAll
  static void start() throws IOException {
    Path samples = Path.of("..", "samples");
    Path out = shared.resolve("enhance");
    assertEquals(0, Main.run("enhance", samples.toString(), "-o", out.toString(), "--onednn", "off"));
    expected = new TreeMap<>();
    try (Stream<Path> s = Files.list(out)) {
      for (Path p : s.toList()) expected.put(p.getFileName().toString(), Files.readAllBytes(p));
    }
    assertEquals(5, expected.size(), "samples/ has five photos");
    // A constant (e.g. all-black) output would make the byte comparisons below meaningless.
    Image first = Images.read(out.resolve("fig-bowl.jpg"));
    float[] rgb = first.rgb();
    float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
    for (float v : rgb) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertTrue(max - min > 0.2f, "enhance output is nearly constant: " + min + ".." + max);
    spark = SparkSession.builder().master("local[2,2]").appName("EnhanceImagesTest")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
  }

  @AfterAll
  static void stop() {
    if (spark != null) spark.stop();
  }

  @AfterEach
  void clearHook() {
    EnhanceImages.afterWrite = null;
  }

  @Test
  void outputsAreByteIdenticalToEnhance() throws IOException {
    Path out = shared.resolve("spark-all");
    org.deepspg.infer.Enhancer pooled = EnhancerPool.get(SETTINGS);
    int pools = EnhancerPool.size();
    long before = pooled.stats().images();
    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, Path.of("..", "samples").toString(), out.toString(), 2,
        100_000_000L, 95);
    assertEquals(new SparkEnhance.Summary(5, 5, 0, List.of()), s);
    assertEquals(expected.keySet(), names(out));
    for (var e : expected.entrySet()) {
      assertArrayEquals(e.getValue(), Files.readAllBytes(out.resolve(e.getKey())), e.getKey());
    }
    // One Enhancer per JVM and settings, reused by every task: no new one, and it enhanced all five.
    assertEquals(pools, EnhancerPool.size());
    org.junit.jupiter.api.Assertions.assertSame(pooled, EnhancerPool.get(SETTINGS));
    assertEquals(before + 5, pooled.stats().images());
  }

  /**
   * Found by the CLI audit of session 32: a folder named with glob characters crashed (Spark read it as a pattern),
   * an output folder that is a symbolic link to the input overwrote the originals, an -o that is a file failed every
   * write after the work, and images Spark's listing skips (names starting with _ or .) went unreported.
   */
  @Test
  void pathsAreLiteralAndOutputsCannotReachTheInputs(@TempDir Path tmp) throws IOException {
    Path in = Files.createDirectories(tmp.resolve("g[1] {a}"));
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("a.jpg"));
    Path out = tmp.resolve("out");
    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, in.toString(), out.toString(), null, 100_000_000L, 95);
    assertEquals(1, s.ok(), s.toString());
    assertArrayEquals(expected.get("fig-bowl.jpg"), Files.readAllBytes(out.resolve("a.jpg")));
    assertEquals("/x/g\\[1\\] \\{a\\}\\*\\?", SparkEnhance.literalPath("/x/g[1] {a}*?"));

    byte[] original = Files.readAllBytes(in.resolve("a.jpg"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), in);
    assertEquals(2, SparkEnhance.run(in.toString(), "-o", link.toString()));
    assertEquals(2, SparkEnhance.run(link.toString(), "-o", in.resolve("sub").toString()));
    assertArrayEquals(original, Files.readAllBytes(in.resolve("a.jpg")), "the input is untouched");
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertEquals(2, SparkEnhance.run(in.toString(), "-o", file.toString()));

    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("_draft.jpg"));
    Files.createDirectories(in.resolve(".cache"));
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve(".cache/b.png"));
    assertEquals(new SparkEnhance.InputScan(null, 2), SparkEnhance.scan(in));
    // a link back into the input (or above it) would be followed about 40 levels deep: refused before the job
    Files.createSymbolicLink(in.resolve("self"), in);
    assertTrue(SparkEnhance.scan(in).loop() != null);
    assertEquals(2, SparkEnhance.run(in.toString(), "-o", tmp.resolve("out2").toString()));
  }

  /**
   * Found by the scale-out audit of session 35, each overwriting originals with exit 0 before: a {@code file://}
   * input skipped the folder checks (-o the input folder itself); the transformer with the output folder as its input
   * root; an input folder inside the output folder, where one input's output is another input; and, without an input
   * root, two inputs of the same file name in different folders sharing one output. Also: an unwritable output folder
   * was found only after every image was enhanced, and zero-byte files went uncounted.
   */
  @Test
  void outputsThatWouldLoseOrOverwriteDataAreRefusedBeforeTheWork(@TempDir Path tmp) throws IOException {
    Path in = Files.createDirectories(tmp.resolve("in"));
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("a.jpg"));
    byte[] original = Files.readAllBytes(in.resolve("a.jpg"));
    assertEquals(2, SparkEnhance.run("file://" + in, "-o", in.toString()));
    assertEquals(2, SparkEnhance.run("file:" + in, "-o", "file://" + in.resolve("sub")));
    Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(in.toString());
    IllegalArgumentException same = assertThrows(IllegalArgumentException.class,
        () -> new EnhanceImages().setSettings(SETTINGS).setOutputDir(in.toString()).setInputRoot(in.toString())
            .transform(files));
    assertTrue(same.getMessage().contains("is the input folder"), same.getMessage());
    // o/in/in/a.jpg's output is o/in/a.jpg, an input
    Path o = tmp.resolve("o");
    Path nested = Files.createDirectories(o.resolve("in/in"));
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), o.resolve("in/a.jpg"));
    Files.copy(Path.of("..", "samples", "aitzgorri.jpg"), nested.resolve("a.jpg"));
    IllegalArgumentException onInput = assertThrows(IllegalArgumentException.class,
        () -> SparkEnhance.run(spark, SETTINGS, o.resolve("in").toString(), o.toString(), null, 100_000_000L, 95));
    assertTrue(onInput.getMessage().contains("would overwrite the input " + o.resolve("in/a.jpg")), onInput.getMessage());
    assertArrayEquals(original, Files.readAllBytes(o.resolve("in/a.jpg")));
    // Without an input root both a.jpg files would be out/a.jpg.
    Dataset<Row> two = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
        .load(o.resolve("in").toString());
    IllegalArgumentException shared = assertThrows(IllegalArgumentException.class,
        () -> new EnhanceImages().setSettings(SETTINGS).setOutputDir(tmp.resolve("out").toString()).transform(two));
    assertTrue(shared.getMessage().contains("2 inputs would be written to the same output"), shared.getMessage());
    assertArrayEquals(original, Files.readAllBytes(in.resolve("a.jpg")), "no input was written");
    // An output folder that cannot be made: refused before Spark starts.
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertEquals(2, SparkEnhance.run(in.toString(), "-o", file.resolve("out").toString()));
    Files.write(in.resolve("empty.jpg"), new byte[0]);
    assertEquals(List.of(in.resolve("empty.jpg").toString()), SparkEnhance.scan(in).empty());
  }

  @Test
  void badFilesBecomeErrorRowsAmongGoodOnes(@TempDir Path in) throws IOException {
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("a-good.jpg"));
    byte[] truncated = Files.readAllBytes(Path.of("..", "samples", "aitzgorri.jpg"));
    Files.write(in.resolve("b-truncated.jpg"), Arrays.copyOf(truncated, 600));
    Files.writeString(in.resolve("c-text.png"), "not an image");
    Files.copy(Path.of("..", "samples", "paint-brushes.jpg"), in.resolve("d good #1%.jpg"));
    Files.writeString(in.resolve("notes.txt"), "not read: no image extension");
    // Bytes mode (no output folder), two images per batch: one partition holds good and bad files together (and a
    // name that is no valid URI).
    List<Row> rows = new EnhanceImages().setSettings(SETTINGS.withBatchSize(2))
        .transform(spark.read().format("binaryFile").load(in.toString())
            .filter(org.apache.spark.sql.functions.col("path").rlike(SparkEnhance.extensionPattern())).coalesce(1))
        .orderBy("path").collectAsList();
    assertEquals(4, rows.size());
    Map<String, Row> byName = new HashMap<>();
    for (Row r : rows) byName.put(Path.of(r.<String>getAs("path")).getFileName().toString(), r);
    for (String[] good : new String[][] {{"a-good.jpg", "fig-bowl.jpg"}, {"d good #1%.jpg", "paint-brushes.jpg"}}) {
      Row r = byName.get(good[0]);
      assertEquals(EnhanceImages.OK, r.getAs("status"));
      assertNull(r.getAs("error"));
      assertArrayEquals(expected.get(good[1]), (byte[]) r.getAs("enhanced"), good[0]);
    }
    for (String bad : new String[] {"b-truncated.jpg", "c-text.png"}) {
      Row r = byName.get(bad);
      assertEquals(EnhanceImages.ERROR, r.getAs("status"), bad);
      assertNotNull(r.getAs("error"), bad);
      assertNull(r.getAs("enhanced"), bad);
    }
    // The same folder through the command's path: counts and one error line per bad file.
    Path out = shared.resolve("spark-bad");
    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, in.toString(), out.toString(), null, 100_000_000L, 95);
    assertEquals(4, s.total());
    assertEquals(2, s.ok());
    assertEquals(2, s.failed());
    assertEquals(2, s.errors().size());
    assertTrue(s.errors().get(0).contains("b-truncated.jpg"), s.errors().toString());
    assertEquals(java.util.Set.of("a-good.jpg", "d good #1%.jpg"), names(out));
  }

  @Test
  void aTaskFailingAfterItsWriteIsRetriedIntoExactlyOneOutput(@TempDir Path in) throws IOException {
    for (String n : List.of("fig-bowl.jpg", "picos-de-europa.jpg")) {
      Files.copy(Path.of("..", "samples", n), in.resolve(n));
    }
    AtomicInteger failures = new AtomicInteger();
    AtomicInteger retried = new AtomicInteger();
    EnhanceImages.afterWrite = (path, attempt) -> {
      if (!path.endsWith("picos-de-europa.jpg")) return;
      if (attempt == 0) {
        failures.incrementAndGet();
        throw new IllegalStateException("injected failure after the output was written");
      }
      retried.incrementAndGet();
    };
    Path out = shared.resolve("spark-retry");
    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, in.toString(), out.toString(), 1, 100_000_000L, 95);
    assertEquals(new SparkEnhance.Summary(2, 2, 0, List.of()), s);
    assertEquals(1, failures.get(), "the first attempt failed once");
    assertTrue(retried.get() >= 1, "a later attempt wrote the output again");
    // Exactly one file per input, no temporary leftovers, and the bytes of a clean run.
    assertEquals(java.util.Set.of("fig-bowl.jpg", "picos-de-europa.jpg"), names(out));
    for (String n : List.of("fig-bowl.jpg", "picos-de-europa.jpg")) {
      assertArrayEquals(expected.get(n), Files.readAllBytes(out.resolve(n)), n);
    }
  }

  /**
   * Found by the spark-enhance audit of session 36: {@code enhance} keeps a file in its output folder that it did not
   * write unless {@code --overwrite}; spark-enhance replaced such a file without a word (a copy of the photo itself in
   * the output folder, any other file of an output's name).
   */
  @Test
  void filesDeepspgDidNotWriteAreKept(@TempDir Path tmp) throws IOException {
    Path in = Files.createDirectories(tmp.resolve("in"));
    Path out = Files.createDirectories(tmp.resolve("out"));
    Path samples = Path.of("..", "samples");
    Files.copy(samples.resolve("fig-bowl.jpg"), in.resolve("a.jpg"));
    Files.copy(samples.resolve("aitzgorri.jpg"), in.resolve("b.jpg"));
    Files.copy(samples.resolve("paint-brushes.jpg"), in.resolve("c.jpg"));
    // out/a.jpg: the original photo (the input's size, unmarked, other pixels); out/b.jpg: not an image;
    // out/c.jpg: an earlier output (marked), which is replaced
    Files.copy(samples.resolve("fig-bowl.jpg"), out.resolve("a.jpg"));
    Files.writeString(out.resolve("b.jpg"), "someone's notes");
    Files.write(out.resolve("c.jpg"), expected.get("aitzgorri.jpg"));
    byte[] photo = Files.readAllBytes(out.resolve("a.jpg"));

    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, in.toString(), out.toString(), null, 100_000_000L, 95);
    assertArrayEquals(photo, Files.readAllBytes(out.resolve("a.jpg")), "the photo in the output folder is kept");
    assertEquals("someone's notes", Files.readString(out.resolve("b.jpg")), "the other file is kept");
    assertArrayEquals(expected.get("paint-brushes.jpg"), Files.readAllBytes(out.resolve("c.jpg")), "replaced");
    assertEquals(3, s.total(), s.toString());
    assertEquals(1, s.ok(), s.toString());
    assertEquals(2, s.failed(), s.toString());
    assertTrue(s.errors().get(0).startsWith(in.resolve("a.jpg") + ": " + out.resolve("a.jpg") + " exists and was not "
        + "written by deepspg"), s.errors().toString());
    assertTrue(s.errors().get(1).startsWith(in.resolve("b.jpg") + ": "), s.errors().toString());
    assertEquals(java.util.Set.of("a.jpg", "b.jpg", "c.jpg"), names(out), "no temporary file is left");
    // The rows say it: status kept, no output.
    List<Row> rows = new EnhanceImages().setSettings(SETTINGS).setOutputDir(out.toString())
        .setInputRoot(in.toString()).transform(spark.read().format("binaryFile").load(in.toString()))
        .orderBy("path").collectAsList();
    assertEquals(List.of("kept", "kept", "ok"), rows.stream().map(r -> r.<String>getAs("status")).toList());
    assertNull(rows.get(0).getAs("output"));
    assertEquals(2, s.kept(), s.toString());
    // --overwrite replaces them
    SparkEnhance.Summary o = SparkEnhance.run(spark, SETTINGS, in.toString(), out.toString(), null, 100_000_000L, 95,
        true, true, false);
    assertEquals(new SparkEnhance.Summary(3, 3, 0, List.of()), o);
    assertArrayEquals(expected.get("fig-bowl.jpg"), Files.readAllBytes(out.resolve("a.jpg")));
    assertArrayEquals(expected.get("aitzgorri.jpg"), Files.readAllBytes(out.resolve("b.jpg")));
  }

  /**
   * Found by the spark-enhance audit of session 36: {@code enhance} prints what reading did that a file did not ask
   * for ({@code deepspg: FILE: NOTICE}); spark-enhance dropped it.
   */
  @Test
  void noticesOfReadingAreReported(@TempDir Path tmp) throws IOException {
    Path in = Files.createDirectories(tmp.resolve("in"));
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("a.jpg"));
    byte[] jpg = Files.readAllBytes(Path.of("..", "samples", "picos-de-europa.jpg"));
    assertEquals(0xd9, jpg[jpg.length - 1] & 0xff);
    Files.write(in.resolve("b.jpg"), Arrays.copyOf(jpg, jpg.length - 2)); // no EOI: read, with a notice
    List<Row> rows = new EnhanceImages().setSettings(SETTINGS)
        .transform(spark.read().format("binaryFile").load(in.toString())).orderBy("path").collectAsList();
    assertNull(rows.get(0).getAs("notice"), rows.get(0).toString());
    assertTrue(rows.get(1).<String>getAs("notice").contains("end marker (EOI) is missing"), rows.get(1).toString());
    assertEquals(EnhanceImages.OK, rows.get(1).getAs("status"));
    assertArrayEquals(expected.get("picos-de-europa.jpg"), (byte[]) rows.get(1).getAs("enhanced"));
    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, in.toString(), tmp.resolve("out").toString(), null,
        100_000_000L, 95);
    assertEquals(2, s.ok(), s.toString());
    assertEquals(1, s.noticed(), s.toString());
    assertEquals(1, s.notices().size(), s.toString());
    assertTrue(s.notices().get(0).startsWith(in.resolve("b.jpg") + ": its JPEG end marker (EOI) is missing"),
        s.toString());
  }

  /**
   * Found by the spark-enhance audit of session 36: an image whose name (or folder's name) is not valid UTF-8 was left
   * out by Spark's listing without a word (not counted, not reported, exit 0), while enhance reads it. The scan finds
   * such files so that the command reports them as failed.
   */
  @Test
  void namesThatAreNotUtf8AreFoundNotDropped(@TempDir Path in) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding")),
        "a UTF-8 test JVM");
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("ok.jpg"));
    Process p = new ProcessBuilder("sh", "-c", "cp ok.jpg \"$(printf 'caf\\351.jpg')\" && mkdir \"$(printf 'd\\351')\" "
        + "&& cp ok.jpg \"$(printf 'd\\351')/x.jpg\"").directory(in.toFile()).redirectErrorStream(true).start();
    String made = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "names that are not UTF-8: " + made);
    SparkEnhance.InputScan scan = SparkEnhance.scan(in);
    assertEquals(2, scan.notUtf8().size(), scan.toString());
    assertEquals(List.of(), scan.empty());
    // Spark's listing has only ok.jpg: the two others would go unreported without the scan
    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, in.toString(), in.resolveSibling(in.getFileName()
        + "-out").toString(), null, 100_000_000L, 95);
    assertEquals(new SparkEnhance.Summary(1, 1, 0, List.of()), s);
  }

  /**
   * Found by the spark-enhance audit of session 36: an image too large for the Java heap threw OutOfMemoryError in
   * its task, which Spark's executor takes as fatal: the JVM exited with code 52, no image written (in local mode the
   * whole command; on a cluster the executor and its tasks). It is now an error row, as enhance fails it alone.
   */
  @Test
  void anImageTooLargeForTheHeapFailsAlone(@TempDir Path in) throws IOException {
    long heap = Runtime.getRuntime().maxMemory();
    org.junit.jupiter.api.Assumptions.assumeTrue(heap < 6L << 30, "a heap below 6 GiB: " + heap);
    // 16000 x 16000 black pixels: a 1 MB PNG whose float copy alone (3 GB) is more than the test JVM's heap
    Files.write(in.resolve("a-huge.png"), blackPng(16000, 16000));
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("b-good.jpg"));
    List<Row> rows = new EnhanceImages().setSettings(SETTINGS).setMaxPixels(1_000_000_000L)
        .transform(spark.read().format("binaryFile").load(in.toString()).coalesce(1)).orderBy("path")
        .collectAsList();
    assertEquals(EnhanceImages.ERROR, rows.get(0).getAs("status"));
    assertTrue(rows.get(0).<String>getAs("error").startsWith("not enough Java heap for this image"),
        rows.get(0).toString());
    assertEquals(EnhanceImages.OK, rows.get(1).getAs("status"));
    assertArrayEquals(expected.get("fig-bowl.jpg"), (byte[]) rows.get(1).getAs("enhanced"));
  }

  /** An 8-bit RGB PNG of zeros, deflated as it is made. */
  private static byte[] blackPng(int w, int h) throws IOException {
    java.io.ByteArrayOutputStream idat = new java.io.ByteArrayOutputStream();
    try (java.util.zip.DeflaterOutputStream z = new java.util.zip.DeflaterOutputStream(idat)) {
      byte[] row = new byte[1 + 3 * w]; // filter type 0, then the pixels
      for (int y = 0; y < h; y++) z.write(row);
    }
    java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
    png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
    java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2);
    chunk(png, "IHDR", ihdr.put(new byte[3]).array());
    chunk(png, "IDAT", idat.toByteArray());
    chunk(png, "IEND", new byte[0]);
    return png.toByteArray();
  }

  private static void chunk(java.io.ByteArrayOutputStream o, String type, byte[] data) throws IOException {
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    crc.update(t);
    crc.update(data);
    o.write(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
    o.write(t);
    o.write(data);
    o.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  /**
   * Found by the spark-enhance audit of session 36: a stopped run said "rerun to do the rest", but a rerun enhanced
   * every image again (spark-enhance had no --skip-existing). Now the inputs whose output exists are left out, rows
   * {@code skipped}, not read.
   */
  @Test
  void skipExistingResumesAStoppedRun(@TempDir Path tmp) throws IOException {
    Path in = Files.createDirectories(tmp.resolve("in"));
    Path out = Files.createDirectories(tmp.resolve("out"));
    Files.copy(Path.of("..", "samples", "fig-bowl.jpg"), in.resolve("a.jpg"));
    Files.copy(Path.of("..", "samples", "aitzgorri.jpg"), in.resolve("b.jpg"));
    Files.copy(Path.of("..", "samples", "paint-brushes.jpg"), in.resolve("c.jpg"));
    Files.write(out.resolve("a.jpg"), expected.get("fig-bowl.jpg"));
    Files.writeString(out.resolve("b.jpg"), "whoever wrote it");
    SparkEnhance.Summary s = SparkEnhance.run(spark, SETTINGS, in.toString(), out.toString(), null, 100_000_000L, 95,
        true, false, true);
    assertEquals(new SparkEnhance.Summary(3, 1, 0, List.of(), 0, 0, List.of(), 2), s);
    assertEquals("whoever wrote it", Files.readString(out.resolve("b.jpg")));
    assertArrayEquals(expected.get("paint-brushes.jpg"), Files.readAllBytes(out.resolve("c.jpg")));
    assertThrows(IllegalArgumentException.class, () -> new EnhanceImages().setOutputDir(out.toString())
        .setOverwrite(true).setSkipExisting(true).transform(spark.read().format("binaryFile").load(in.toString())));
    assertEquals(2, SparkEnhance.run(in.toString(), "-o", out.toString(), "--overwrite", "--skip-existing"));
  }

  /**
   * Found by the spark-enhance audit of session 36: enhance's --max-memory (default tiles fit it, a larger pass is
   * refused) had no spark-enhance counterpart. It travels with the settings and tiles as enhance's does.
   */
  @Test
  void theMemoryLimitTravelsWithTheSettings() throws Exception {
    long limit = 160L << 20;
    EnhancerSettings limited = SETTINGS.withMaxMemory(limit);
    Object back = serialised(limited);
    assertEquals(limited, back);
    assertEquals(limit, limited.withBatchSize(2).withRefineContext(true).maxMemory(), "the with-copies keep it");
    try (org.deepspg.infer.Enhancer plain = SETTINGS.builder().build();
        org.deepspg.infer.Enhancer e = ((EnhancerSettings) back).builder().build();
        org.deepspg.infer.Enhancer cli = org.deepspg.infer.Enhancer.builder().oneDnn(OneDnn.Mode.OFF)
            .maxMemory(limit).build()) {
      assertTrue(e.passes(852, 1280) > plain.passes(852, 1280), e.passes(852, 1280) + " tiles");
      assertEquals(cli.passes(852, 1280), e.passes(852, 1280), "as enhance --max-memory tiles");
    }
    assertThrows(IllegalArgumentException.class, () -> SETTINGS.withMaxMemory(0L));
  }

  /**
   * Found by the spark-enhance audit of session 36: a bad flag or a second folder printed the whole help after the
   * message (enhance prints one line and where the options are); --jpeg-quality 0 was named "jpegQuality".
   */
  @Test
  void usageErrorsAreOneLine(@TempDir Path tmp) {
    java.io.PrintStream saved = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      assertEquals(2, SparkEnhance.run(tmp.toString(), tmp.toString(), "-o", tmp.resolve("o").toString()));
      assertEquals(2, SparkEnhance.run(tmp.toString(), "-o", tmp.resolve("o").toString(), "--tile", "x"));
      assertEquals(2, SparkEnhance.run(tmp.toString(), "-o", tmp + "-o", "--jpeg-quality", "0"));
    } finally {
      System.setErr(saved);
    }
    List<String> lines = captured.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
        .filter(l -> !l.contains(" WARN ")).toList();
    assertEquals(List.of("deepspg: Unmatched argument at index 1: '" + tmp + "'",
        "Run 'spark-enhance --help' for the options.",
        "deepspg: Invalid value for option '--tile': 'x' is not an int",
        "Run 'spark-enhance --help' for the options.", "deepspg: --jpeg-quality must be 1..100, got 0"), lines);
  }

  /** An object after Java serialisation, as Spark ships settings to executors. */
  private static Object serialised(Object x) throws IOException, ClassNotFoundException {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream o = new java.io.ObjectOutputStream(bytes)) {
      o.writeObject(x);
    }
    try (java.io.ObjectInputStream i = new java.io.ObjectInputStream(
        new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
      return i.readObject();
    }
  }

  /** Every entry of a folder, hidden temporaries included. */
  private static java.util.Set<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return new java.util.TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
    }
  }

  /** {@code --refine-context} travels to the executors' Enhancers: one more pass over the tiles of a large image. */
  @Test
  void theRefinementPassTravelsWithTheSettings() throws Exception {
    EnhancerSettings refined = SETTINGS.withRefineContext(true);
    Object back = serialised(refined);
    assertEquals(refined, back);
    assertTrue(refined.withBatchSize(2).refineContext(), "the with-copies keep it");
    try (org.deepspg.infer.Enhancer plain = SETTINGS.builder().build();
        org.deepspg.infer.Enhancer e = ((EnhancerSettings) back).builder().build()) {
      int tiles = plain.passes(852, 1280);
      assertTrue(tiles > 1, "tiled: " + tiles);
      assertEquals(2 * tiles, e.passes(852, 1280), "a refinement pass over the same tiles");
      assertEquals(plain.passes(400, 600), e.passes(400, 600), "an image that runs whole is not refined");
    }
  }
}
