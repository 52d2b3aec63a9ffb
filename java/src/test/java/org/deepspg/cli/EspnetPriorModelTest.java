/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.eval.Metrics;
import org.deepspg.infer.Enhancer;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.espnet.ESPNetv2;
import org.deepspg.model.prior.EspnetPrior;
import org.deepspg.model.prior.ImagePriors;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.ops.Backends;
import org.deepspg.testing.Fixtures;
import org.deepspg.train.Priors;
import org.deepspg.train.TrainConfig;
import org.deepspg.train.TrainTestSupport;
import org.deepspg.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DeepSPG with SEMs trained with the ESPNetv2 image prior, end to end: training builds the SEM projections for the
 * prior's widths and records the prior in the weights; the Enhancer runs the model with that prior, refuses another
 * prior by name and, without prior weights, names the file needed; {@code deepspg enhance --prior-weights} with the
 * real ESPNetv2 weights (when {@code ../shared/priors} is there) writes what the Java API computes.
 */
class EspnetPriorModelTest {
  private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

  @TempDir static Path work;
  private static Path data;

  @BeforeAll
  static void setUp() throws IOException {
    Backends.init();
    data = TrainTestSupport.writeTinyDataset(work.resolve("data"), 4, 1, 64, 3);
  }

  private static Properties tinySem(Path runDir) {
    Properties p = TrainTestSupport.tinyRun(data, runDir);
    p.setProperty("variant", "v1"); // SEMs + L_sem
    p.setProperty(DeepSPGConfig.KEY_SEM_PRIOR, EspnetPrior.ID);
    p.setProperty("epochs", "1");
    p.setProperty("c2f.enabled", "false");
    p.setProperty("sample.count", "0");
    return p;
  }

  private static Path train(TrainConfig cfg, Priors priors) throws IOException {
    Trainer t = new Trainer(cfg, priors);
    t.setConsole(QUIET);
    Trainer.Result r = t.run();
    assertEquals(2, r.steps());
    assertTrue(Double.isFinite(r.lastPsnr()));
    return r.finalWeights();
  }

  @Test
  void randomEspnetPriorTrainsRecordsAndIsRequiredByName() throws IOException {
    EspnetPrior prior = new EspnetPrior(new ESPNetv2(new ESPNetv2.Config(0.5, 20)));
    Properties p = tinySem(work.resolve("random"));
    p.setProperty(DeepSPGConfig.KEY_SEM_PRIOR_INPUT, DeepSPGConfig.PRIOR_INPUT_RETINEX); // the prior sees X_r
    Path weights = train(TrainConfig.fromProperties(p), new Priors(prior, null, null));
    DeepSPGConfig cfg = ModelFiles.loadFile(weights, null).net().config();
    assertEquals(EspnetPrior.ID, cfg.semPrior());
    assertEquals(DeepSPGConfig.PRIOR_INPUT_RETINEX, cfg.semPriorInput());
    assertEquals(List.of(prior.featureChannels()[0], prior.featureChannels()[1], prior.featureChannels()[2]),
        cfg.semChannels());
    Image img = Images.read(data.resolve("test/low/000.png"));
    try (Enhancer e = Enhancer.builder().checkpoint(weights).prior(prior).build()) {
      Image out = e.enhance(img);
      assertEquals(img.width(), out.width());
      for (float v : out.rgb()) assertTrue(v >= 0 && v <= 1);
    }
    // The weights record which ESPNetv2 file the SEMs learned from: the same widths from another training set (here
    // 21 classes, as PASCAL VOC's s = 2.0 file is to Cityscapes') are refused, naming the file to give.
    assertEquals("20", ModelFiles.loadFile(weights, null).meta().getProperty(ImagePriors.KEY_PRIOR_CLASSES));
    try (EspnetPrior voc = new EspnetPrior(new ESPNetv2(new ESPNetv2.Config(0.5, 21)))) {
      IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
          () -> Enhancer.builder().checkpoint(weights).prior(voc).build());
      assertTrue(other.getMessage().contains("weights of 20 classes (Cityscapes), but the given weights have 21 "
          + "(PASCAL VOC): give espnetv2_s_0.5_city_1024x512.pth"), other.getMessage());
    }
    IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
        () -> Enhancer.builder().checkpoint(weights).hrnet(TrainTestSupport.tinyHrnet(work.resolve("hr"))).build());
    assertTrue(wrong.getMessage().contains("trained with the image prior espnetv2"), wrong.getMessage());
    MissingWeightsException missing = assertThrows(MissingWeightsException.class,
        () -> Enhancer.builder().checkpoint(weights).build());
    // the file that fits this model's s = 0.5 widths, not the usual s = 2.0 one
    assertTrue(missing.getMessage().contains("Expected espnetv2_s_0.5_city_1024x512.pth"), missing.getMessage());
    CliTestSupport.Result r = CliTestSupport.run("enhance", data.resolve("test/low").toString(), "-o",
        work.resolve("none").toString(), "--model", weights.toString(), "--onednn", "off");
    assertEquals(2, r.code(), r.all());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    assertTrue(r.err().contains("ESPNetv2 prior weights (espnetv2_s_0.5_city_1024x512.pth, from EdgeNets"), r.err());
    assertTrue(r.err().contains("--prior-weights FILE"), r.err());
    // a path that does not work: the line says why
    r = CliTestSupport.run("enhance", data.resolve("test/low").toString(), "-o", work.resolve("none").toString(),
        "--model", weights.toString(), "--prior-weights", work.resolve("absent.pth").toString(), "--onednn", "off");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("absent.pth is unusable: file not found"), r.err());
    prior.close();
  }

  @Test
  void realEspnetWeightsThroughConfigAndCli() throws IOException {
    Path esp = Fixtures.fixtures().getParent().resolve("priors").resolve("espnetv2"); // skips without ../shared
    Path file = esp.resolve("espnetv2_s_0.5_city_1024x512.pth");
    Properties p = tinySem(work.resolve("real"));
    p.setProperty("prior.weights", file.toString());
    TrainConfig cfg = TrainConfig.fromProperties(p);
    Priors priors = Priors.load(cfg);
    assertTrue(priors.image() instanceof EspnetPrior);
    Path weights = train(cfg, priors);
    Path out = work.resolve("out-real");
    CliTestSupport.Result r = CliTestSupport.run("enhance", data.resolve("test/low").toString(), "-o", out.toString(),
        "--model", weights.toString(), "--prior-weights", file.toString(), "--onednn", "off");
    assertEquals(0, r.code(), r.all());
    Image img = Images.read(data.resolve("test/low/000.png"));
    Image ref;
    try (Enhancer e = Enhancer.builder().checkpoint(weights).prior(priors.image()).build()) {
      ref = e.enhance(img);
    }
    Image cli = Images.read(out.resolve("000.png"));
    double psnr = Metrics.psnr(cli.rgb(), ref.rgb());
    assertTrue(psnr >= 45, "CLI output vs Java API: " + psnr + " dB (8-bit rounding only)");
    // Another prior's weights (ESPNetv2 s=2.0: other widths) for this s=0.5 model are refused with exit 2.
    CliTestSupport.Result w = CliTestSupport.run("enhance", data.resolve("test/low").toString(), "-o",
        work.resolve("out-wrong").toString(), "--model", weights.toString(), "--prior-weights",
        esp.resolve("espnetv2_s_2.0_city_1024x512.pth").toString(), "--onednn", "off");
    assertEquals(2, w.code(), w.all());
    assertTrue(w.err().contains("trained with the image prior espnetv2"), w.err());
  }
}
