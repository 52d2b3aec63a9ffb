/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.deepspg.data.DatasetLayouts;
import org.deepspg.data.PairedDataset;
import org.deepspg.data.Split;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.ops.EdgeOperator;
import org.deepspg.ops.PriorMode;
import org.deepspg.model.prior.PriorWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Presets, overrides, validation messages and the weights requirements of {@link TrainConfig}. */
class TrainConfigTest {
  private static TrainConfig of(String... kv) {
    return TrainConfig.fromProperties(TrainConfig.parseOverrides(List.of(kv)));
  }

  @Test
  void variantsOfTable2SetTheSwitches() {
    TrainConfig b = of("variant=baseline");
    assertFalse(b.model().semEnabled());
    assertEquals(new Losses.Weights(1, 0.5, 0, 0), b.lossWeights());
    assertFalse(b.c2fEnabled());
    assertFalse(b.needsImagePrior());
    assertFalse(b.needsClip());

    TrainConfig v1 = of("variant=v1");
    assertTrue(v1.model().semEnabled());
    assertEquals(new Losses.Weights(1, 0.5, 0.01, 0), v1.lossWeights());
    assertFalse(v1.c2fEnabled());
    assertTrue(v1.needsImagePrior());
    assertFalse(v1.needsClip());

    TrainConfig v2 = of("variant=v2");
    assertTrue(v2.model().semEnabled());
    assertEquals(Losses.Weights.DEFAULT, v2.lossWeights());
    assertFalse(v2.c2fEnabled());
    assertTrue(v2.needsClip());

    TrainConfig v3 = of();
    assertEquals(TrainConfig.Variant.V3, v3.variant());
    assertTrue(v3.model().semEnabled());
    assertEquals(Losses.Weights.DEFAULT, v3.lossWeights());
    assertTrue(v3.c2fEnabled());
    assertEquals(6, v3.schedule().stages().size(), "the spec's six C2F stages over 500 epochs");
    assertEquals(128, v2.schedule().stages().get(0).patch());
    assertEquals(16, v2.schedule().stages().get(0).batch());
  }

  @Test
  void lossPresetsOfTable3SetOnlyTheWeights() {
    assertEquals(new Losses.Weights(1, 0, 0, 0), of("losses=pix").lossWeights());
    assertEquals(new Losses.Weights(1, 0.5, 0, 0), of("losses=pix+edge").lossWeights());
    assertEquals(new Losses.Weights(1, 0.5, 0.01, 0), of("losses=pix+edge+sem").lossWeights());
    assertEquals(Losses.Weights.DEFAULT, of("losses=all").lossWeights());
    TrainConfig pix = of("losses=pix");
    assertTrue(pix.model().semEnabled() && pix.c2fEnabled(), "network and C2F follow the variant (v3)");
    // explicit keys beat presets
    assertEquals(0.05, of("variant=v1", "loss.sem=0.05").lossWeights().sem());
    assertTrue(of("variant=baseline", "c2f.enabled=true").c2fEnabled());
    assertEquals(40, of("model.size=l").model().channels());
    assertEquals(24, of("model.size=l", "model.channels=24").model().channels());
  }

  /** A config file saved with a UTF-8 byte-order mark reads as without one. */
  @Test
  void byteOrderMarkIsSkipped(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
    java.nio.file.Path f = tmp.resolve("bom.properties");
    java.nio.file.Files.writeString(f, "\uFEFFvariant=v1\nbatch=4\n", java.nio.charset.StandardCharsets.UTF_8);
    java.util.Properties p = TrainConfig.readProperties(f);
    assertEquals("v1", p.getProperty("variant"), p.toString());
    assertEquals("v1", TrainConfig.fromProperties(p).toProperties().getProperty("variant")); // no "unknown key"
  }

  @Test
  void errorsNameTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of("lr=abc"));
    assertTrue(e.getMessage().contains("'lr'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("lr.max=1"));
    assertTrue(e.getMessage().contains("unknown config key 'lr.max'") && e.getMessage().contains("did you mean"),
        e.getMessage());
    // values that overflow: float32 loss weights, the cache's bytes, the C2F schedule's int arithmetic
    e = assertThrows(IllegalArgumentException.class, () -> of("loss.pix=1e30"));
    assertTrue(e.getMessage().contains("'loss.pix' must be 0 (off) or in [1e-6, 1e6]"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> of("loss.edge=1e-300"));
    e = assertThrows(IllegalArgumentException.class, () -> of("data.cache_mb=9223372036854775807"));
    assertTrue(e.getMessage().contains("'data.cache_mb' must be an integer in [0, "), e.getMessage());
    CoarseToFine huge = CoarseToFine.paper(Integer.MAX_VALUE, 1, 1);
    assertEquals(6, huge.stages().size(), "every stage of the table survives");
    assertEquals(16, huge.stageOf(1).batch());
    assertEquals(128, huge.stageOf(1).patch());
    CoarseToFine scaled = CoarseToFine.paper(500, 1e10, 1e300);
    assertTrue(scaled.stageOf(1).patch() > 128 && scaled.stageOf(1).batch() > 16, "huge scales stay huge, not wrapped");
    e = assertThrows(IllegalArgumentException.class, () -> of("Batch=2"));
    assertTrue(e.getMessage().contains("did you mean 'batch'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("patch=100"));
    assertTrue(e.getMessage().contains("'patch'") && e.getMessage().contains("multiple of 32"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("variant=v4"));
    assertTrue(e.getMessage().contains("'variant'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("losses=pix+mul"));
    assertTrue(e.getMessage().contains("'losses'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("grad_clip=-1"));
    assertTrue(e.getMessage().contains("'grad_clip'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("data.augment.flips=maybe"));
    assertTrue(e.getMessage().contains("'data.augment.flips'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("sem.q_dense=yes-please"));
    assertTrue(e.getMessage().contains("sem.q_dense"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.parseOverrides(List.of("epochs")));
    assertTrue(e.getMessage().contains("'epochs'") && e.getMessage().contains("key=value"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("lr=1e-3", "lr.min=1e-2"));
    assertTrue(e.getMessage().contains("'lr.min'"), e.getMessage());
  }

  @Test
  void valuesThatReachFloatTensorsAreBoundedAndAllZeroLossWeightsAreRefusedAtLoad() {
    String[][] bad = {
      {"lr=1e39", "config key 'lr' must be a number > 0 that a float holds"},
      {"lr=1e-50", "config key 'lr' must be a number > 0 that a float holds"},
      {"adam.eps=1e39", "config key 'adam.eps' must be a number > 0 that a float holds"},
      {"grad_clip=1e39", "config key 'grad_clip' must be a number >= 0 that a float holds"},
      {"loss.sem.temperature=1e39", "config key 'loss.sem.temperature' must be a number > 0 that a float holds"},
      {"lr=1e37,adam.beta1=0.99", "config key 'lr' (1.0E37) divided by 1 - adam.beta1"},
      {"variant=baseline,loss.pix=0,loss.edge=0", "'loss.color' are all 0: at least one loss weight must be > 0"}};
    for (String[] b : bad) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of(b[0].split(",")));
      assertTrue(e.getMessage().contains(b[1]), b[0] + ": " + e.getMessage());
    }
    assertEquals(3e38, of("lr=3e38", "adam.beta1=0", "lr.min=0").optimizer().lr(),
        "the largest values a float holds still pass");
  }

  @Test
  void missingWeightsForV1GiveTheClearMessageAndBaselineNeedsNone() throws IOException {
    MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> Priors.load(of("variant=v1")));
    assertEquals(PriorWeights.HRNET_W48_ADE20K, e.weights());
    assertTrue(e.getMessage().contains("hrnet_ade20k_4312_torch04.pth"), e.getMessage());
    assertTrue(e.getMessage().contains(PriorWeights.RUN_WITHOUT), e.getMessage());
    e = assertThrows(MissingWeightsException.class,
        () -> Priors.load(of("variant=v1", "hrnet.weights=/nonexistent/hrnet.pth")));
    assertTrue(e.getMessage().contains("file not found") && e.getMessage().contains("/nonexistent/hrnet.pth"),
        e.getMessage());
    Priors none = Priors.load(of("variant=baseline"));
    assertNull(none.hrnet());
    assertNull(none.clip());
  }

  @Test
  void resolvedTextRoundTripsAndResumeOverridesCannotChangeThePreset(@TempDir Path tmp) throws IOException {
    TrainConfig c = of("variant=v2", "epochs=7", "model.channels=12");
    Path f = tmp.resolve("c.properties");
    Files.writeString(f, c.toText());
    TrainConfig back = TrainConfig.load(f, List.of());
    assertEquals(c.toProperties(), back.toProperties());
    Properties more = new Properties();
    more.setProperty("max_steps", "9");
    assertEquals(9, back.with(more).steps().maxSteps());
    more.setProperty("variant", "v3");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> back.with(more));
    assertTrue(e.getMessage().contains("'variant'"), e.getMessage());
    for (TrainConfig.Key k : TrainConfig.KEYS) {
      assertTrue(TrainConfig.describeKeys().contains(k.name()), "documented: " + k.name());
      assertFalse(k.doc().isBlank(), k.name());
    }
  }

  /** The repository's configs/ folder (tests run in java/; the folder is part of the repository, never skipped). */
  private static Path configsDir() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("configs/baseline_cpu.properties"))) return d.resolve("configs");
    }
    throw new AssertionError("configs/ not found above " + Path.of("").toAbsolutePath());
  }

  private static List<Path> configFiles() throws IOException {
    try (Stream<Path> s = Files.list(configsDir())) {
      return s.filter(f -> f.toString().endsWith(".properties")).sorted().toList();
    }
  }

  @Test
  void everyShippedConfigParsesAndRoundTrips(@TempDir Path tmp) throws IOException {
    List<Path> files = configFiles();
    assertTrue(files.size() >= 5, "configs/*.properties: " + files);
    for (Path f : files) {
      TrainConfig c = TrainConfig.load(f, List.of());
      Path saved = tmp.resolve(f.getFileName());
      Files.writeString(saved, c.toText());
      TrainConfig back = TrainConfig.load(saved, List.of());
      assertEquals(c, back, f + ": save -> load");
      assertEquals(c.toProperties(), back.toProperties(), f + ": text");
    }
    // What the bundled model was trained with.
    TrainConfig b = TrainConfig.load(configsDir().resolve("baseline_cpu.properties"), List.of());
    assertEquals(TrainConfig.Variant.BASELINE, b.variant());
    assertFalse(b.model().semEnabled() || b.needsImagePrior() || b.needsClip() || b.c2fEnabled());
    assertEquals(new TrainConfig.Steps(96, 128, 4, false, 1, 1, 0), b.steps());
    assertEquals(new TrainConfig.Validation(16, 0, 8, 4), b.validation());
    assertEquals(100, b.output().checkpointEverySteps());
    assertEquals(2, b.threads());
    assertEquals(Path.of("runs/baseline_cpu"), b.runDir());
    assertEquals(Path.of("/work/data-photos/synth"), b.data().train().root());
    TrainConfig real = TrainConfig.load(configsDir().resolve("lol_v2_real_v3.properties"), List.of());
    assertEquals(DatasetLayouts.Layout.LOL_V2_REAL, real.data().train().layout());
    assertEquals(TrainConfig.Variant.V3, real.variant());
    // The ablation files with the overrides their comments show.
    for (String v : List.of("baseline", "v1", "v2", "v3")) {
      TrainConfig t2 = TrainConfig.load(configsDir().resolve("ablation_table2.properties"), List.of("variant=" + v));
      assertEquals(v, org.deepspg.io.ConfigValues.text(t2.variant()));
    }
    for (String l : List.of("pix", "pix+edge", "pix+edge+sem", "all")) {
      TrainConfig t3 = TrainConfig.load(configsDir().resolve("ablation_table3.properties"), List.of("losses=" + l));
      assertEquals(l, t3.lossPreset());
    }
  }

  @Test
  void everyBooleanKeyAcceptsEverySpelling() {
    List<String> boolKeys = List.of("sem.enabled", "sem.q_dense", "sem.shared_ln", "sem.skf_residual", "c2f.enabled",
        "data.augment.flips", "data.augment.rotations", "plots");
    String[][] spellings = {{"true", "on", "yes", "1", "TRUE", "On", "YES"}, {"false", "off", "no", "0", "False",
        "OFF", "No"}};
    for (String k : boolKeys) {
      for (int want = 0; want < 2; want++) {
        for (String sp : spellings[want]) {
          TrainConfig c = of("variant=baseline", k + "=" + sp);
          boolean got = switch (k) {
            case "sem.enabled" -> c.model().semEnabled();
            case "sem.q_dense" -> c.model().semQDense();
            case "sem.shared_ln" -> c.model().semSharedLn();
            case "sem.skf_residual" -> c.model().semSkfResidual();
            case "c2f.enabled" -> c.c2fEnabled();
            case "data.augment.flips" -> c.data().flips();
            case "data.augment.rotations" -> c.data().rotations();
            default -> c.output().plots();
          };
          assertEquals(want == 0, got, k + "=" + sp);
        }
      }
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of(k + "=maybe"));
      assertTrue(e.getMessage().contains("'" + k + "' must be true or false (also on/off, yes/no, 1/0), got 'maybe'"),
          e.getMessage());
    }
    // The disagreement this parser removed: the network's switch read only true/false, the trainer's read on/off too.
    assertTrue(of("variant=baseline", "sem.enabled=on").model().semEnabled());
    assertTrue(of("variant=baseline", "sem.enabled=on").needsImagePrior());
  }

  @Test
  void enumKeysByNameCaseInsensitiveAndBadValuesListTheChoices() {
    TrainConfig c = of("loss.edge.operator=SOBEL", "hrnet.input_norm=None", "retinex.prior=Max", "model.size=L",
        "device=CPU", "variant=FULL", "losses=PIX + EDGE", "data.train.layout=LOL_V1", "data.val.layout=Folders");
    assertEquals(EdgeOperator.SOBEL, c.edgeOperator());
    assertEquals(InputNorm.NONE, c.hrnetInputNorm());
    assertEquals(PriorMode.MAX, c.model().retinexPrior());
    assertEquals(40, c.model().channels());
    assertEquals("cpu", c.device());
    assertEquals(TrainConfig.Variant.V3, c.variant());
    assertEquals("pix+edge", c.lossPreset());
    assertEquals(new Losses.Weights(1, 0.5, 0, 0), c.lossWeights());
    assertEquals(DatasetLayouts.Layout.LOL_V1, c.data().train().layout());
    assertTrue(c.data().val().folders());
    String[][] bad = {
      {"data.train.layout=lol-v3", "config key 'data.train.layout' must be auto, lol-v1, lol-v2-real, "
          + "lol-v2-synthetic, split, flat or folders, got 'lol-v3'"},
      {"hrnet.input_norm=imagenet1k", "config key 'hrnet.input_norm' must be imagenet or none, got 'imagenet1k'"},
      {"loss.edge.operator=canny", "config key 'loss.edge.operator' must be diff or sobel, got 'canny'"},
      {"device=gpu", "config key 'device' must be cpu or cuda, got 'gpu'"},
      {"model.size=m", "config key 'model.size' must be s or l, got 'm'"},
      {"variant=v4", "config key 'variant' must be baseline, v1, v2 or v3, got 'v4'"},
      {"losses=pix+mul", "config key 'losses' must be pix, pix+edge, pix+edge+sem or all, got 'pix+mul'"},
      {"retinex.prior=median", "config key 'retinex.prior' must be mean or max, got 'median'"}};
    for (String[] b : bad) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of(b[0]));
      assertTrue(e.getMessage().contains(b[1]), b[0] + ": " + e.getMessage());
    }
  }

  @Test
  void dataLayoutsAreTheDatasetLayouts() {
    assertNull(of().data().train().layout(), "auto: detect");
    assertFalse(of().data().train().folders());
    assertEquals(Split.TRAIN, of().data().train().split());
    assertEquals(Split.TEST, of().data().val().split());
    for (DatasetLayouts.Layout l : DatasetLayouts.Layout.values()) {
      assertEquals(l, of("data.val.layout=" + l.key()).data().val().layout(), l.key());
    }
    assertEquals(DatasetLayouts.Layout.SPLIT_FOLDERS, of("data.train.layout=split").data().train().layout());
    TrainConfig f = of("data.train.layout=folders", "data.train.low=/a/low", "data.train.high=/a/high");
    assertTrue(f.data().train().folders());
    assertNull(f.data().train().layout());
    assertEquals(Path.of("/a/low"), f.data().train().low());
    assertEquals(Path.of("/a/high"), f.data().train().high());
  }

  @Test
  void lowAndHighFoldersAreUsedOrRefusedNeverIgnored(@TempDir Path tmp) throws IOException {
    Path ds = TrainTestSupport.writeTinyDataset(tmp.resolve("ds"), 3, 1, 32, 1);
    String low = "data.train.low=" + ds.resolve("test/low"), high = "data.train.high=" + ds.resolve("test/high");
    TrainConfig c = of(low, high);
    assertTrue(c.data().train().folders(), "the two folders select layout folders");
    assertEquals(1, Trainer.openDataset(c.data().train(), PairedDataset.Options.DEFAULT).size(), "their one pair");
    assertTrue(of("data.val.low=/v/l", "data.val.high=/v/h").data().val().folders());
    assertTrue(of("data.train=" + ds, "data.train.layout=folders", low, high).data().train().folders(),
        "an explicit layout folders says which counts");
    String[][] bad = {
      {"data.train=" + ds, low, high, "config key 'data.train' (" + ds + ") and config keys 'data.train.low' and "
          + "'data.train.high' both say where the data are"},
      {"data.train.layout=split", low, high, "'data.train.layout' is split: set data.train.layout=folders"},
      {low, "config key 'data.train.high' is not set"},
      {"data.val.high=/v/h", "config key 'data.val.low' is not set"}};
    for (String[] b : bad) {
      String[] keys = java.util.Arrays.copyOf(b, b.length - 1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of(keys));
      assertTrue(e.getMessage().contains(b[b.length - 1]), String.join(" ", keys) + ": " + e.getMessage());
    }
  }

  @Test
  void everyKeySetRoundTripsThroughTheSavedText(@TempDir Path tmp) throws IOException {
    TrainConfig c = of("run.dir=" + tmp.resolve("r"), "seed=7", "threads=3", "device=cuda", "variant=v1",
        "losses=pix+edge+sem", "model.size=l", "model.channels=24", "model.blocks=1,2,3", "sem.q_dense=on",
        "sem.shared_ln=yes", "sem.skf_residual=1", "sem.ffn_expansion=2.66", "retinex.prior=max", "sem.prior=espnetv2",
        "sem.prior_input=retinex", "prior.weights=/w/p.pth", "hrnet.weights=/w/h.pth",
        "hrnet.config=/w/h.json", "hrnet.input_norm=none", "clip.weights=/w/c.pt", "clip.config=/w/c.json",
        "clip.tokenizer=/w/bpe.txt.gz", "loss.pix=2", "loss.edge=0.25", "loss.sem=0.03", "loss.mul=0.04",
        "loss.color=0.2", "loss.edge.operator=sobel", "loss.sem.temperature=2", "loss.mul.low_text=dark photo",
        "loss.mul.high_text=bright photo", "epochs=9", "patch=64", "batch=3", "c2f.enabled=off",
        "c2f.patch_scale=0.5", "c2f.batch_scale=0.5", "lr=1e-3", "lr.min=1e-5", "lr.warmup_steps=5",
        "adam.beta1=0.8", "adam.beta2=0.99", "adam.eps=1e-7", "grad_clip=0", "max_steps=11", "data.train=/d/t",
        "data.train.layout=lol-v2-synthetic", "data.val.layout=folders", "data.val.low=/d/vl", "data.val.high=/d/vh",
        "data.augment.flips=no", "data.augment.rotations=off", "data.workers=0", "data.prefetch=2",
        "data.cache_mb=64", "val.every_epochs=2", "val.every_steps=50", "val.max_images=3",
        "checkpoint.every_steps=7", "log.every_steps=2", "log.grad_norm_steps=0", "sample.count=1", "plots=false");
    List<String> unset = new ArrayList<>();
    for (String k : TrainConfig.keyNames()) {
      if (c.toProperties().getProperty(k).equals(TrainConfig.KEYS.stream().filter(x -> x.name().equals(k))
          .findFirst().orElseThrow().defaultValue())) {
        unset.add(k);
      }
    }
    assertEquals(List.of("data.train.low", "data.train.high", "data.val"), unset, "every other key is exercised");
    Files.writeString(tmp.resolve("c.properties"), c.toText());
    TrainConfig back = TrainConfig.load(tmp.resolve("c.properties"), List.of());
    assertEquals(c, back);
    assertEquals(c.hashCode(), back.hashCode());
    assertEquals(c.toText(), back.toText());
    assertEquals(new TrainConfig.Optimizer(1e-3, 1e-5, 5, 0.8, 0.99, 1e-7, 0), back.optimizer());
    assertEquals(new TrainConfig.LossSettings(new Losses.Weights(2, 0.25, 0.03, 0.04, 0.2), EdgeOperator.SOBEL, 2,
        "dark photo", "bright photo"), back.loss());
    assertEquals(new TrainConfig.Output(7, 2, 0, false), back.output());
    assertEquals(new TrainConfig.Data(
        new TrainConfig.DataSource("data.train", Split.TRAIN, Path.of("/d/t"), DatasetLayouts.Layout.LOL_V2_SYNTHETIC,
            false, null, null),
        new TrainConfig.DataSource("data.val", Split.TEST, null, null, true, Path.of("/d/vl"), Path.of("/d/vh")),
        false, false, 0, 2, 64), back.data());
    assertEquals("espnetv2", back.model().semPrior());
    assertEquals("retinex", back.model().semPriorInput());
    assertEquals(new TrainConfig.PriorFiles(Path.of("/w/p.pth"), Path.of("/w/h.pth"), Path.of("/w/h.json"),
        InputNorm.NONE, Path.of("/w/c.pt"), Path.of("/w/c.json"), Path.of("/w/bpe.txt.gz")), back.priorFiles());
    // Another spelling of the same values is the same configuration; a changed value is not.
    assertEquals(of("lr=0.0003", "plots=on"), of("lr=3e-4", "plots=TRUE"));
    assertFalse(of("lr=3e-4").equals(of("lr=3e-3")));
  }

  @Test
  void storedConfigurationsResumeWithAliasesAndIgnoreTheRunPosition() {
    Properties meta = of("variant=full", "epochs=3").toProperties();
    assertEquals("v3", meta.getProperty("variant"), "the canonical preset name is stored");
    Properties w = of("variant=FULL", "hrnet.input_norm=None").weightsMetadata();
    assertEquals("v3", w.getProperty("variant"));
    assertEquals("none", w.getProperty("hrnet.input_norm"), "what ModelFiles reads back");
    meta.setProperty("state.step", "12");
    meta.setProperty("state.format", "deepspg-train-1");
    TrainConfig stored = TrainConfig.fromStored(meta);
    assertEquals(of("variant=v3", "epochs=3"), stored);
    Properties same = new Properties();
    same.setProperty("variant", "Full"); // as the user's config file wrote it: not a change
    same.setProperty("epochs", "5");
    assertEquals(5, stored.with(same).steps().epochs());
    same.setProperty("variant", "v2");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> stored.with(same));
    assertTrue(e.getMessage().contains("'variant' cannot change on resume"), e.getMessage());
    // Checkpoints written before the preset registry stored the user's spelling of the preset names.
    Properties old = of("variant=full", "losses=PIX").toProperties();
    old.setProperty("variant", "full");
    old.setProperty("losses", "PIX");
    assertEquals(of("variant=v3", "losses=pix"), TrainConfig.fromStored(old));
    Properties keep = new Properties();
    keep.setProperty("losses", "pix");
    assertEquals("pix", TrainConfig.fromStored(old).with(keep).lossPreset());
  }

  @Test
  void presetsSetOnlyKnownKeysAndAreDocumented() {
    for (TrainPresets.Preset p : TrainPresets.all()) {
      for (String k : p.settings().keySet()) assertTrue(TrainConfig.keyNames().contains(k), p.name() + " sets " + k);
      assertTrue(TrainPresets.describe().contains(p.selector() + "=" + p.name()), p.name());
      assertEquals(p, TrainPresets.find(p.selector(), p.name().toUpperCase(java.util.Locale.ROOT)));
    }
    assertEquals("v3", TrainPresets.find(TrainPresets.VARIANT, "variant3").name());
    assertEquals(4, TrainPresets.of(TrainPresets.VARIANT).size());
    assertEquals(4, TrainPresets.of(TrainPresets.LOSSES).size());
  }
}
