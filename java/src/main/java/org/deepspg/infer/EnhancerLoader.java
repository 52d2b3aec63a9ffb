/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.model.prior.ImagePriors;
import org.deepspg.ops.Devices;
import org.deepspg.ops.NativeLibrary;
import org.deepspg.ops.OneDnn;

/**
 * Builds an {@link Enhancer} from its {@link Enhancer.Builder}: resolves the device, loads the network
 * ({@link ModelFiles}) and its image prior (the one named by {@code sem.prior}; HRNet with the input normalisation the
 * model was trained with), moves them to
 * the device and runs the oneDNN self-check ({@link OneDnn}) with the Enhancer's own computation.
 */
final class EnhancerLoader {
  private EnhancerLoader() {}

  /** What the loader hands to the Enhancer. */
  record Loaded(Pipeline pipeline, DeepSPG net, boolean ownsNet, ImagePrior prior, boolean ownsPrior, Device device,
      String deviceName, String source) {}

  /**
   * Loads on a fresh thread: modules must be built outside any PointerScope (a scope would release their Java
   * handles), and scopes are thread-local.
   */
  static Enhancer load(Enhancer.Builder b) throws IOException {
    OneDnn.requireNotShared("building an Enhancer"); // the loading thread's self-check would wait for this thread
    String dev = Devices.resolve(b.device, "the device (Enhancer.Builder.device, CLI --device)");
    AtomicReference<Object> result = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        result.set(loadHere(b, dev));
      } catch (Throwable e) {
        result.set(e);
      }
    }, "deepspg-enhancer-load");
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while loading the model", e);
    }
    Object r = result.get();
    if (r instanceof Enhancer e) return e;
    if (r instanceof IOException e) throw e;
    if (r instanceof RuntimeException e) throw e;
    if (r instanceof Error e) throw e;
    throw new IllegalStateException("loading failed", (Throwable) r);
  }

  private static Enhancer loadHere(Enhancer.Builder b, String dev) throws IOException {
    NativeLibrary.ensureLoaded();
    DeepSPG net;
    String source;
    InputNorm norm = InputNorm.IMAGENET;
    java.util.Properties meta = null;
    boolean ownsNet = b.module == null;
    if (!ownsNet) {
      net = b.module;
      source = "module " + net.config().describe();
    } else {
      ModelFiles.Loaded l = b.checkpoint != null ? ModelFiles.loadFile(b.checkpoint, b.arch)
          : ModelFiles.loadBundled(b.bundled == null ? ModelFiles.DEFAULT_NAME : b.bundled);
      norm = l.hrnetInputNorm();
      meta = l.meta();
      net = l.net();
      source = l.source();
    }
    DeepSPGConfig cfg = net.config();
    ImagePrior prior = null;
    boolean ownsPrior = false;
    try {
      if (cfg.semEnabled()) {
        if (b.priorModule != null) {
          prior = b.priorModule;
        } else {
          prior = ImagePriors.forModel(cfg, b.priorWeights, b.hrnetConfig, norm, source,
              "CLI: --prior-weights FILE; API: Enhancer.builder().priorWeights(path)");
          ownsPrior = true;
        }
        // Another prior than the one the SEMs were trained with gives wrong results: refused by name.
        cfg.requireSemPrior(prior.id(), prior.featureChannels());
        ImagePriors.requireTrainedWith(meta, prior);
      }
      Device d = null;
      if (dev.equals("cuda")) {
        d = new Device("cuda");
        net.to(d, false);
        if (prior != null) prior.to(d, torch.ScalarType.Float);
      }
      Pipeline p = new Pipeline(net, prior);
      Enhancer e = new Enhancer(b, new Loaded(p, net, ownsNet, prior, ownsPrior, d, dev, source));
      if (d == null) {
        e.oneDnnVerdict = OneDnn.apply(b.oneDnn, List.of(selfCheckProbe(p)));
        e.resetStats();
      }
      return e;
    } catch (IOException | RuntimeException e) {
      if (ownsNet) net.close();
      if (ownsPrior) prior.close();
      throw e;
    }
  }

  /**
   * The Enhancer's own computation for the oneDNN self-check: prior (if any) and network on a fixed dark 96×128
   * input, unclamped (a clamp could hide differences in the saturated range).
   */
  private static OneDnn.Probe selfCheckProbe(Pipeline p) {
    return new OneDnn.Probe("model forward (" + p.config().describe() + ", 1x3x96x128)", () -> {
      try (NoGradGuard ng = new NoGradGuard(); InferenceMode im = new InferenceMode()) {
        Tensor x = OneDnn.fixedRandom(new long[] {1, 3, 96, 128}, 42).abs().mul(new Scalar(0.3));
        return p.forward(x).clone();
      }
    });
  }

}
