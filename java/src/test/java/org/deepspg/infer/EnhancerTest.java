/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.data.Images;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.ops.DenseConv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Enhancer}: tiling fidelity, thread safety, API variants, HRNet handling, ensemble. */
class EnhancerTest {
  /** The fidelity target for tiled vs whole-image inference. */
  private static final double TILED_MIN_PSNR = 38.0;
  /**
   * How much better tiles with the shared attention context must match whole-image inference than naive tiles.
   * Measured with this test's model and image: 64.7 dB vs 52.6 dB; 6 dB leaves room for platform differences.
   */
  private static final double CONTEXT_GAIN_DB = 6.0;
  /** Same network on the same pixels, different reduction splits possible across oneDNN primitives: float noise. */
  private static final float FLOAT_TOL = 1e-5f;

  private static DeepSPG tiny;

  @BeforeAll
  static void setUp() {
    tiny = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 1, InferTestSupport.TEST_TAU);
  }

  @AfterAll
  static void tearDown() {
    tiny.close();
  }

  private static Enhancer enhancer(TileOptions t) throws IOException {
    return Enhancer.builder().model(tiny).tiling(t).build();
  }

  @Test
  void tiledMatchesWholeAndTheSharedContextBeatsNaiveTiles() throws IOException {
    Image img = InferTestSupport.darkImage(160, 224, 11);
    TileOptions tiles = new TileOptions(128, 32, 768, 0);
    try (Enhancer whole = enhancer(TileOptions.never()); Enhancer ctx = enhancer(tiles);
        Enhancer naive = Enhancer.builder().model(tiny).tiling(tiles).tileContext(false).build()) {
      float[] w = whole.enhance(img).rgb();
      float[] c = ctx.enhance(img).rgb();
      float[] n = naive.enhance(img).rgb();
      assertEquals(3, ctx.stats().tiles(), "1 x 3 tiles of 160x96 (at most 128x128 pixels each)");
      double pc = InferTestSupport.psnr(c, w);
      double pn = InferTestSupport.psnr(n, w);
      assertTrue(pc >= TILED_MIN_PSNR, "tiled with context vs whole: " + pc + " dB");
      assertTrue(pc - pn >= CONTEXT_GAIN_DB, "context " + pc + " dB vs naive tiles " + pn + " dB");
      // The network really changes the image (the comparison would be vacuous otherwise).
      assertTrue(InferTestSupport.psnr(img.rgb(), w) < 25, "output differs from the input");
    }
  }

  /** 8-bit samples or a normalised tensor are refused with the reason; a slight overshoot passes. */
  @Test
  void valuesFarOutsideTheUnitRangeAreRefused() throws IOException {
    Image img = InferTestSupport.darkImage(24, 32, 7);
    float[] eightBit = img.rgb().clone();
    for (int i = 0; i < eightBit.length; i++) eightBit[i] *= 255;
    try (Enhancer e = enhancer(TileOptions.never()); PointerScope s = new PointerScope()) {
      IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
          () -> e.enhance(Image.of(32, 24, eightBit)));
      assertTrue(a.getMessage().contains("divide them by 255"), a.getMessage());
      assertThrows(IllegalArgumentException.class, () -> e.enhance(List.of(img, Image.of(32, 24, eightBit))));
      Tensor t = ImageTensors.tensorOf(img.rgb(), 1, 3, 24, 32);
      IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
          () -> e.enhance(t.sub(new org.bytedeco.pytorch.Scalar(0.45)).div(new org.bytedeco.pytorch.Scalar(0.2))));
      assertTrue(b.getMessage().contains("must hold values in [0, 1]"), b.getMessage());
      float[] ringing = img.rgb().clone();
      ringing[0] = 1.05f;
      ringing[1] = -0.02f;
      assertEquals(32, e.enhance(Image.of(32, 24, ringing)).width());
    }
  }

  /** A null model is refused, not taken for the default model. */
  @Test
  void aNullModelIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Enhancer.builder().checkpoint((Path) null));
    assertThrows(IllegalArgumentException.class, () -> Enhancer.builder().model((DeepSPG) null));
    assertThrows(IllegalArgumentException.class, () -> Enhancer.builder().bundled(null));
  }

  /**
   * The default model and {@code bundled:NAME} never look for a file (a file named {@code s} in the working folder
   * made the CLI's default model fail: the docs audit, session 35); a plain name still lets a file win.
   */
  @Test
  void theDefaultModelIsTheBundledOneWhateverFilesExist() throws IOException {
    assertEquals("s", ModelFiles.bundledName(null));
    assertEquals("s-night", ModelFiles.bundledName(" bundled:s-night"));
    assertEquals(null, ModelFiles.bundledName("s"), "a plain name: a file of that name wins");
    try (Enhancer e = Enhancer.builder().model("bundled:s-night", null).build()) {
      assertTrue(e.modelSource().startsWith("bundled s-night"), e.modelSource());
    }
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
        () -> Enhancer.builder().model("bundled:nope", null));
    assertTrue(none.getMessage().contains("no bundled model 'nope'"), none.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ModelFiles.load("bundled:nope", null));
  }

  /** Building an Enhancer inside a progress callback fails at once instead of waiting forever for the call. */
  @Test
  void buildingAnEnhancerInsideOnPassFailsFast() throws Exception {
    Image img = InferTestSupport.darkImage(48, 64, 5);
    try (Enhancer e = enhancer(TileOptions.never())) {
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      assertTimeoutPreemptively(java.time.Duration.ofSeconds(120), () -> e.enhance(img, () -> {
        try {
          Enhancer.builder().model(tiny).build().close();
        } catch (Throwable t) {
          thrown.set(t);
        }
      }));
      assertTrue(thrown.get() instanceof IllegalStateException, String.valueOf(thrown.get()));
      assertTrue(thrown.get().getMessage().contains("onPass"), thrown.get().getMessage());
      try (Enhancer after = Enhancer.builder().model(tiny).build()) { // outside the call it builds
        assertEquals(img.width(), after.enhance(img).width());
      }
    }
  }

  @Test
  void closeWaitsForARunningCallAndFreesTheNetworksItLoaded(@TempDir Path dir)
      throws Exception {
    long packsBefore = DenseConv.livePacked();
    Path weights = InferTestSupport.exportRandom(dir, "m.pth", InferTestSupport.tinyBaseline(), 4);
    Image img = InferTestSupport.darkImage(48, 64, 6);
    Enhancer e = Enhancer.builder().checkpoint(weights).tiling(TileOptions.never()).build();
    Image alone = e.enhance(img);
    CountDownLatch inCall = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<Image> running = pool.submit(() -> e.enhance(img, () -> {
        inCall.countDown();
        try {
          release.await();
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
      }));
      assertTrue(inCall.await(60, TimeUnit.SECONDS));
      Future<?> closing = pool.submit(e::close);
      Thread.sleep(300);
      assertFalse(closing.isDone(), "close() returned while a call was running on the networks it frees");
      release.countDown();
      closing.get(60, TimeUnit.SECONDS);
      assertArrayEquals(alone.rgb(), running.get().rgb(), "the call that close() waited for");
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
    assertEquals(packsBefore, DenseConv.livePacked(), "packed weights of the loaded model left");
    IllegalStateException after = assertThrows(IllegalStateException.class, () -> e.enhance(img));
    assertTrue(after.getMessage().contains("closed"), after.getMessage());
    e.close(); // idempotent
  }

  @Test
  void closeInsideOnPassIsRefusedInsteadOfDeadlocking() throws Exception {
    Image img = InferTestSupport.darkImage(48, 64, 5);
    try (Enhancer e = enhancer(TileOptions.never())) {
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      assertTimeoutPreemptively(java.time.Duration.ofSeconds(120), () -> e.enhance(img, () -> {
        try {
          e.close();
        } catch (Throwable t) {
          thrown.set(t);
        }
      }));
      assertTrue(thrown.get() instanceof IllegalStateException, String.valueOf(thrown.get()));
      assertEquals(img.width(), e.enhance(img).width(), "the Enhancer stays usable");
    }
  }

  @Test
  void concurrentCallsGiveTheSequentialResults() throws Exception {
    List<Image> imgs = List.of(InferTestSupport.darkImage(48, 64, 1), InferTestSupport.darkImage(64, 40, 2),
        InferTestSupport.darkImage(100, 120, 3));
    // The 100x120 image is tiled (threshold 5000 px, 2 x 2 tiles), the others run whole.
    try (Enhancer e = enhancer(new TileOptions(96, 32, 768, 5_000))) {
      List<float[]> seq = new ArrayList<>();
      for (Image i : imgs) seq.add(e.enhance(i).rgb());
      int threads = 3;
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<List<float[]>>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          final int shift = t;
          fs.add(pool.submit(() -> {
            List<float[]> out = new ArrayList<>();
            for (int k = 0; k < imgs.size(); k++) out.add(e.enhance(imgs.get((k + shift) % imgs.size())).rgb());
            return out;
          }));
        }
        for (int t = 0; t < threads; t++) {
          List<float[]> got = fs.get(t).get();
          for (int k = 0; k < imgs.size(); k++) {
            // Identical computation per call; libtorch's kernels do not depend on concurrent callers.
            assertArrayEquals(seq.get((k + t) % imgs.size()), got.get(k), 0f, "thread " + t + " image " + k);
          }
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void apiVariantsAgree() throws IOException {
    Image a = InferTestSupport.darkImage(40, 56, 5);
    Image b = InferTestSupport.darkImage(40, 56, 6);
    try (Enhancer e = Enhancer.builder().model(tiny).batchSize(2).build()) {
      float[] ra = e.enhance(a).rgb();
      float[] rb = e.enhance(b).rgb();
      List<Image> batch = e.enhance(List.of(a, b));
      assertArrayEquals(ra, batch.get(0).rgb(), FLOAT_TOL);
      assertArrayEquals(rb, batch.get(1).rgb(), FLOAT_TOL);
      try (PointerScope s = new PointerScope()) {
        float[] both = new float[ra.length * 2];
        System.arraycopy(a.rgb(), 0, both, 0, ra.length);
        System.arraycopy(b.rgb(), 0, both, ra.length, ra.length);
        Tensor x = ImageTensors.tensorOf(both, 2, 3, 40, 56);
        Tensor y = e.enhance(x);
        assertArrayEquals(new long[] {2, 3, 40, 56}, y.sizes().vec().get());
        float[] ys = ImageTensors.floatsOf(y);
        float[] expect = new float[both.length];
        System.arraycopy(ra, 0, expect, 0, ra.length);
        System.arraycopy(rb, 0, expect, ra.length, ra.length);
        assertArrayEquals(expect, ys, FLOAT_TOL);
        for (float v : ys) assertTrue(v >= 0 && v <= 1, "clamped to [0, 1]");
      }
      BufferedImage bi = Images.toBufferedImage(a, 8, false, false);
      BufferedImage out = e.enhance(bi);
      assertEquals(56, out.getWidth());
      assertEquals(40, out.getHeight());
      Image q = Images.fromBufferedImage(out, "memory", null);
      // 8-bit input quantisation moves the input by up to 1/510; the output then by a little more.
      assertTrue(InferTestSupport.psnr(q.rgb(), ra) > 30, "BufferedImage path");
      assertEquals(BufferedImage.TYPE_3BYTE_BGR, out.getType());
      // A grey image comes back grey, 16 bits as 16 bits: the luma of what the file path writes (it came back as
      // tinted 8-bit colour before session 35).
      Image g = Image.of(56, 40, a.rgb());
      g = g.withMetadata(g.metadata().withGray(true));
      for (int bits : new int[] {8, 16}) {
        BufferedImage grey = e.enhance(Images.toBufferedImage(g, bits, true, false));
        assertEquals(bits == 8 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_USHORT_GRAY, grey.getType());
        Image viaFile = e.enhance(Images.fromBufferedImage(Images.toBufferedImage(g, bits, true, false), "png", null));
        float[] want = Images.fromBufferedImage(Images.toBufferedImage(viaFile, bits, true, false), "png", null).rgb();
        assertArrayEquals(want, Images.fromBufferedImage(grey, "memory", null).rgb(), 0f, bits + "-bit grey");
      }
      Image deep = Image.of(56, 40, a.rgb());
      BufferedImage d16 = e.enhance(Images.toBufferedImage(deep.withMetadata(deep.metadata().withBitDepth(16)), 16,
          false, false));
      assertEquals(16, d16.getColorModel().getComponentSize(0), "16-bit colour stays 16-bit");
    } catch (org.deepspg.data.ImageReadException ex) {
      throw new AssertionError(ex);
    }
  }

  @Test
  void tinyAndOddSizesWork() throws IOException {
    try (Enhancer e = enhancer(TileOptions.DEFAULT); PointerScope s = new PointerScope()) {
      for (int[] hw : new int[][] {{1, 1}, {2, 3}, {3, 5}, {33, 31}}) {
        Tensor y = e.enhance(torch.rand(1, 3, hw[0], hw[1]).mul_(new org.bytedeco.pytorch.Scalar(0.2)));
        assertArrayEquals(new long[] {1, 3, hw[0], hw[1]}, y.sizes().vec().get());
        assertFalse(y.isnan().any().item_bool());
      }
    }
  }

  @Test
  void semModelNeedsHrnetWeights() throws IOException {
    DeepSPG sem = InferTestSupport.randomModel(InferTestSupport.tinyBaseline().withSemEnabled(true), 2, 1);
    try {
      MissingWeightsException ex = assertThrows(MissingWeightsException.class,
          () -> Enhancer.builder().model(sem).build());
      assertTrue(ex.getMessage().contains("HRNet-W48"), ex.getMessage());
      assertTrue(ex.getMessage().contains("hrnet_ade20k_4312_torch04.pth"), ex.getMessage());
      assertTrue(ex.getMessage().contains("sem.enabled=false"), "says how to run without it: " + ex.getMessage());
      MissingWeightsException missing = assertThrows(MissingWeightsException.class,
          () -> Enhancer.builder().model(sem).hrnetWeights(Path.of("/nonexistent/hrnet.pth")).build());
      assertTrue(missing.getMessage().contains("file not found"), missing.getMessage());
    } finally {
      sem.close();
    }
  }

  /** A small HRNet with the W48 branch widths (48/96/192/384) so the SEM adapters fit; random weights. */
  static HRNet smallW48LikeHrnet() {
    HRNetConfig c = new HRNetConfig(
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BOTTLENECK, new int[] {1}, new int[] {16}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1}, new int[] {48, 96}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1}, new int[] {48, 96, 192}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1, 1}, new int[] {48, 96, 192, 384}),
        4, 1, true, 1e-5, 0.1);
    torch.manual_seed(9);
    return new HRNet(c).freeze();
  }

  @Test
  void semModelRunsHrnetOnThePaddedInputWholeAndTiled() throws IOException {
    DeepSPG sem = InferTestSupport.randomModel(InferTestSupport.tinyBaseline().withSemEnabled(true), 2,
        InferTestSupport.TEST_TAU);
    HRNet hr = smallW48LikeHrnet();
    try (Enhancer whole = Enhancer.builder().model(sem).hrnet(hr).tiling(TileOptions.never()).build();
        Enhancer tiled = Enhancer.builder().model(sem).hrnet(hr).tiling(new TileOptions(96, 32, 768, 0)).build()) {
      assertTrue(whole.usesHrnet());
      Image img = InferTestSupport.darkImage(64, 160, 4);
      float[] w = whole.enhance(img).rgb();
      float[] t = tiled.enhance(img).rgb();
      assertTrue(whole.stats().hrnetNanos() > 0, "HRNet ran");
      double p = InferTestSupport.psnr(t, w);
      System.out.println("SEM model, tiled vs whole: " + p + " dB");
      // HRNet runs per tile (its features near tile borders differ from the whole image's); the overlap hides most.
      assertTrue(p >= TILED_MIN_PSNR, "SEM model tiled vs whole: " + p + " dB");
    } finally {
      sem.close();
      hr.close();
    }
  }

  @Test
  void ensembleAveragesTheEightTransforms() throws IOException {
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.rand(1, 3, 5, 7);
      for (int t = 0; t < Enhancer.ENSEMBLE_SIZE; t++) {
        Tensor y = Enhancer.inverse(Enhancer.transform(x, t), t);
        assertArrayEquals(ImageTensors.floatsOf(x), ImageTensors.floatsOf(y), 0f, "transform " + t + " round trip");
      }
      Tensor r = Enhancer.transform(x, 1);
      assertArrayEquals(new long[] {1, 3, 7, 5}, r.sizes().vec().get(), "a quarter turn swaps H and W");
    }
    // Near-identity model (gain 1): outputs stay inside [0, 1], so clamping each transform's output (plain calls)
    // and clamping the mean (ensemble) agree.
    DeepSPG mild = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 5, 1, 1);
    try (Enhancer plain = Enhancer.builder().model(mild).build();
        Enhancer ens = Enhancer.builder().model(mild).ensemble(true).build();
        PointerScope s = new PointerScope()) {
      assertTrue(ens.ensemble());
      // Mid-grey input keeps the near-identity model's outputs away from the clamp limits.
      Tensor x = torch.rand(1, 3, 24, 40).mul_(new org.bytedeco.pytorch.Scalar(0.2))
          .add_(new org.bytedeco.pytorch.Scalar(0.4));
      // The transforms apply to the image padded to 32 x 64 (24 x 40 is not a multiple of 32 on either side).
      Tensor xp = Padding.reflectPad(x, Padding.MULTIPLE);
      Tensor acc = null;
      for (int t = 0; t < Enhancer.ENSEMBLE_SIZE; t++) {
        Tensor y = Enhancer.inverse(plain.enhance(Enhancer.transform(xp, t).contiguous()), t);
        acc = acc == null ? y : acc.add(y);
      }
      float[] manual = ImageTensors.floatsOf(Padding.crop(acc.div(new org.bytedeco.pytorch.Scalar(8.0)), 24, 40));
      float[] got = ImageTensors.floatsOf(ens.enhance(x));
      assertArrayEquals(manual, got, FLOAT_TOL);
      assertFalse(java.util.Arrays.equals(got, ImageTensors.floatsOf(plain.enhance(x))), "ensemble changes the result");
    } finally {
      mild.close();
    }
  }

  @Test
  void loadsExportedWeightsAndRejectsBadSources(@TempDir Path dir) throws IOException {
    Path f = InferTestSupport.exportRandom(dir, "tiny.pth", InferTestSupport.tinyBaseline(), 1);
    Image img = InferTestSupport.darkImage(32, 48, 9);
    try (Enhancer fromFile = Enhancer.builder().checkpoint(f).build(); Enhancer fromModule = enhancer(
        TileOptions.DEFAULT)) {
      assertEquals(InferTestSupport.tinyBaseline(), fromFile.config());
      // Same seed, same initialisation, same test gains: the exported file reproduces the in-memory model.
      assertArrayEquals(fromModule.enhance(img).rgb(), fromFile.enhance(img).rgb(), 0f);
    }
    IOException wrongArch = assertThrows(IOException.class,
        () -> Enhancer.builder().checkpoint(f, DeepSPGConfig.s()).build());
    assertTrue(wrongArch.getMessage().contains("was requested"), wrongArch.getMessage());
    assertThrows(IOException.class, () -> Enhancer.builder().checkpoint(dir.resolve("missing.pth")).build());
    assertThrows(IllegalArgumentException.class, () -> Enhancer.builder().model(tiny).device("tpu").build());
    if (!torch.cuda_is_available()) {
      assertThrows(IllegalArgumentException.class, () -> Enhancer.builder().model(tiny).device("cuda").build());
      try (Enhancer auto = Enhancer.builder().model(tiny).device("auto").build()) {
        assertEquals("cpu", auto.device());
      }
    }
  }

  @Test
  void missingBundledModelFailsWithAClearMessage() {
    assumeFalse(ModelFiles.available(ModelFiles.bundled("s").orElseThrow()), "a bundled model exists in this build");
    IOException ex = assertThrows(IOException.class, () -> Enhancer.builder().build());
    assertTrue(ex.getMessage().contains("no bundled DeepSPG model 's'"), ex.getMessage());
    assertTrue(ex.getMessage().contains(ModelFiles.bundled("s").orElseThrow().resource()), ex.getMessage());
  }

  @Test
  void closedEnhancerRefusesWork() throws IOException {
    Enhancer e = enhancer(TileOptions.DEFAULT);
    e.close();
    e.close();
    assertThrows(IllegalStateException.class, () -> e.enhance(InferTestSupport.darkImage(8, 8, 1)));
    assertSame(TileOptions.DEFAULT, e.tileOptions());
  }
}
