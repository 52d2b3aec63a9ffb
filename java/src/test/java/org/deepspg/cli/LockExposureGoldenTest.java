/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.data.WriteOptions;
import org.deepspg.eval.Metrics;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.SequenceTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deepspg enhance FRAMES/ --lock-exposure} in a fresh JVM: two frames, a sample and the same sample with a
 * headlight (a white square near its top-left corner). The first frame's output is the reference program's
 * ({@code golden/user-path/aitzgorri.png}); the second's far corner is the first's, where the ordinary result of the
 * second frame is about a third darker there.
 */
class LockExposureGoldenTest {
  @TempDir static Path work;

  @Test
  void enhanceLocksTheExposureOfAFrameSequence() throws Exception {
    Image sample = sample();
    Image light = SequenceTestSupport.withHeadlight(sample, 80);
    Path frames = Files.createDirectories(work.resolve("frames"));
    Images.write(sample, frames.resolve("000.png"), WriteOptions.DEFAULT);
    Images.write(light, frames.resolve("001.png"), WriteOptions.DEFAULT); // after 000 by name
    Path out = work.resolve("out");
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--lock-exposure"));
    assertEquals(0, r.code(), r.log());
    assertTrue(r.log().contains("exposure locked to the first frame") && !r.log().contains("anew after each cut"),
        "no cut detection unless asked for\n" + r.log());
    Image first = Images.read(out.resolve("000.png"));
    Image second = Images.read(out.resolve("001.png"));
    double p = Metrics.psnr(first.rgb(),
        Images.read(UserPathGoldenTest.goldenFolder("user-path").resolve("aitzgorri.png")).rgb());
    double[] locked = SequenceTestSupport.farCorner(first, second);
    double[] plain;
    try (Enhancer e = Enhancer.builder().build()) {
      plain = SequenceTestSupport.farCorner(first,
          Image.of(light.width(), light.height(), UserPathGoldenTest.quantized(e.enhance(light).rgb())));
    }
    System.out.printf(Locale.ROOT, "[lock-exposure cli] first frame %.2f dB against the reference; far corner of the "
        + "headlight frame %+.1f %% (max %.0f/255), unlocked %+.1f %%%n", p, 100 * locked[0], 255 * locked[1],
        100 * plain[0]);
    assertTrue(p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%.2f dB\n%s", p, r.log()));
    assertTrue(plain[0] < -0.15, "the case at hand: unlocked, the headlight darkens the far corner: " + plain[0]);
    assertTrue(Math.abs(locked[0]) < 1e-3 && locked[1] <= 1.5 / 255, "locked: " + locked[0] + ", max " + locked[1]);

    // Resumed with --skip-existing after the first frame: still locked to it (not to the headlight frame).
    Files.delete(out.resolve("001.png"));
    UserPathGoldenTest.Run resumed = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--lock-exposure", "--skip-existing"));
    assertEquals(0, resumed.code(), resumed.log());
    assertTrue(resumed.log().contains("locked to " + frames.resolve("000.png")), resumed.log());
    double[] again = SequenceTestSupport.farCorner(second, Images.read(out.resolve("001.png")));
    assertTrue(again[1] <= 1.5 / 255, "resumed: the headlight frame changed by up to " + again[1]);
  }

  /**
   * An unreadable first frame: the run locks to the first frame that comes out, and a run resumed with
   * --skip-existing to the first frame whose output exists, i.e. the same one (an audit: the resumed run locked to
   * the headlight frame itself, 15.4 dB away).
   */
  @Test
  void anUnreadableFirstFrameLocksToTheNextInBothRuns() throws Exception {
    Image sample = sample();
    Path frames = Files.createDirectories(work.resolve("frames-broken"));
    byte[] png = Files.readAllBytes(write(sample, work.resolve("whole.png")));
    Files.write(frames.resolve("a.png"), java.util.Arrays.copyOf(png, png.length / 3)); // truncated
    Images.write(sample, frames.resolve("b.png"), WriteOptions.DEFAULT);
    Images.write(SequenceTestSupport.withHeadlight(sample, 80), frames.resolve("c.png"), WriteOptions.DEFAULT);
    Path out = work.resolve("out-broken");
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--lock-exposure"));
    assertEquals(Main.EXIT_SOME_FAILED, r.code(), r.log());
    Image b = Images.read(out.resolve("b.png"));
    Image c = Images.read(out.resolve("c.png"));
    double[] locked = SequenceTestSupport.farCorner(b, c);
    assertTrue(locked[1] <= 1.5 / 255, "locked to b: " + locked[0] + ", max " + locked[1] + "\n" + r.log());
    Files.delete(out.resolve("c.png"));
    UserPathGoldenTest.Run resumed = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--lock-exposure", "--skip-existing"));
    assertEquals(Main.EXIT_SOME_FAILED, resumed.code(), resumed.log()); // a.png fails again
    assertTrue(resumed.log().contains("locked to " + frames.resolve("b.png")), resumed.log());
    double[] again = SequenceTestSupport.farCorner(c, Images.read(out.resolve("c.png")));
    assertTrue(again[1] <= 1.5 / 255, "resumed: c changed by up to " + again[1] + "\n" + resumed.log());
  }

  /**
   * Two scenes of two frames each, the second of each with a headlight, run with --cut-threshold 0.35 (implying
   * --lock-exposure): the cut between them locks the exposure anew
   * on the first frame of the second scene, whose output is the reference program's; each headlight frame keeps its
   * scene's exposure. Resumed with --skip-existing after both headlight outputs are lost, the finished frames are
   * read for their cuts and both headlight frames come out as before.
   */
  @Test
  void aCutLocksTheExposureAnew() throws Exception {
    Image a = sample();
    Image b = Images.read(Path.of("").toAbsolutePath().getParent().resolve("samples/fig-bowl.jpg"));
    Path frames = Files.createDirectories(work.resolve("frames-cut"));
    Images.write(a, frames.resolve("000.png"), WriteOptions.DEFAULT);
    Images.write(SequenceTestSupport.withHeadlight(a, 80), frames.resolve("001.png"), WriteOptions.DEFAULT);
    Images.write(b, frames.resolve("002.png"), WriteOptions.DEFAULT);
    Images.write(SequenceTestSupport.withHeadlight(b, 80), frames.resolve("003.png"), WriteOptions.DEFAULT);
    Path out = work.resolve("out-cut");
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--cut-threshold", "0.35"));
    assertEquals(0, r.code(), r.log());
    assertTrue(r.log().contains("a cut at " + frames.resolve("002.png")), r.log());
    assertTrue(!r.log().contains("a cut at " + frames.resolve("001.png"))
        && !r.log().contains("a cut at " + frames.resolve("003.png")), r.log());
    Path golden = UserPathGoldenTest.goldenFolder("user-path");
    double pa = Metrics.psnr(Images.read(out.resolve("000.png")).rgb(), Images.read(golden.resolve("aitzgorri.png"))
        .rgb());
    double pb = Metrics.psnr(Images.read(out.resolve("002.png")).rgb(), Images.read(golden.resolve("fig-bowl.png"))
        .rgb());
    Image litA = Images.read(out.resolve("001.png"));
    Image litB = Images.read(out.resolve("003.png"));
    double[] farA = SequenceTestSupport.farCorner(Images.read(out.resolve("000.png")), litA);
    double[] farB = SequenceTestSupport.farCorner(Images.read(out.resolve("002.png")), litB);
    System.out.printf(Locale.ROOT, "[lock-exposure cut] scene starts %.2f / %.2f dB against the reference; headlight "
        + "frames' far corners %+.2f %% / %+.2f %%%n", pa, pb, 100 * farA[0], 100 * farB[0]);
    assertTrue(pa >= UserPathGoldenTest.MIN_PSNR && pb >= UserPathGoldenTest.MIN_PSNR, pa + " / " + pb);
    assertTrue(farA[1] <= 1.5 / 255 && farB[1] <= 1.5 / 255, farA[1] + " / " + farB[1]);

    Files.delete(out.resolve("001.png"));
    Files.delete(out.resolve("003.png"));
    UserPathGoldenTest.Run resumed = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--lock-exposure", "--skip-existing",
            "--cut-threshold", "0.35"));
    assertEquals(0, resumed.code(), resumed.log());
    assertTrue(resumed.log().matches("(?s).*a cut at " + java.util.regex.Pattern.quote(frames.resolve("002.png")
        .toString()) + " \\(\\d+ % of the view changed; its output exists\\).*"), resumed.log());
    double[] againA = SequenceTestSupport.farCorner(litA, Images.read(out.resolve("001.png")));
    double[] againB = SequenceTestSupport.farCorner(litB, Images.read(out.resolve("003.png")));
    assertTrue(againA[1] <= 1.5 / 255 && againB[1] <= 1.5 / 255, "resumed: " + againA[1] + " / " + againB[1]
        + "\n" + resumed.log());

    UserPathGoldenTest.Run bad = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--lock-exposure", "--cut-threshold", "2"));
    assertEquals(2, bad.code(), bad.log());
    assertTrue(bad.log().contains("--cut-threshold must be a fraction in (0, 1] or off"), bad.log());
  }

  /** The sample the frames are made of (its reference output is {@code golden/user-path/aitzgorri.png}). */
  private static Image sample() throws java.io.IOException {
    return Images.read(Path.of("").toAbsolutePath().getParent().resolve("samples/aitzgorri.jpg")); // from java/
  }

  private static Path write(Image img, Path file) throws java.io.IOException {
    Images.write(img, file, WriteOptions.DEFAULT);
    return file;
  }

  /**
   * {@code --lock-to FILE}: a sequence of headlight frames locked to the frame without them, which is not written;
   * the far corner is the reference program's output of that frame there. A missing file stops the run first.
   */
  @Test
  void lockToAReferenceFrame() throws Exception {
    Image sample = sample();
    Path frames = Files.createDirectories(work.resolve("frames-lit"));
    Images.write(SequenceTestSupport.withHeadlight(sample, 80), frames.resolve("lit.png"), WriteOptions.DEFAULT);
    Path ref = write(sample, work.resolve("reference-frame.png"));
    Path out = work.resolve("out-lock-to");
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", out.toString(), "--lock-to", ref.toString()));
    assertEquals(0, r.code(), r.log());
    assertTrue(Files.exists(out.resolve("lit.png")) && !Files.exists(out.resolve("reference-frame.png")), r.log());
    assertTrue(r.log().contains("exposure locked to " + ref) && !r.log().contains("anew after each cut"),
        "a hand-picked reference is kept: no cut detection unless asked\n" + r.log());
    Image golden = Images.read(UserPathGoldenTest.goldenFolder("user-path").resolve("aitzgorri.png"));
    double[] far = SequenceTestSupport.farCorner(golden, Images.read(out.resolve("lit.png")));
    System.out.printf(Locale.ROOT, "[lock-to cli] far corner against the reference: %+.2f %% (max %.0f/255)%n",
        100 * far[0], 255 * far[1]);
    assertTrue(Math.abs(far[0]) < 1e-3 && far[1] <= 2.5 / 255, "far corner: " + far[0] + ", max " + far[1]);
    UserPathGoldenTest.Run missing = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", frames.toString(), "-o", work.resolve("out-missing").toString(), "--lock-to",
            work.resolve("no-such-frame.png").toString()));
    assertEquals(2, missing.code(), missing.log());
    assertTrue(missing.log().contains("file not found") && !missing.log().contains("model:"), missing.log());
  }
}
