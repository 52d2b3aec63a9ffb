/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.ops.Backends;
import org.deepspg.train.TrainCheckpoint;
import org.deepspg.train.TrainTestSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user's mistake or a bad file gets from every command: exit code 2 and one line naming the problem, never
 * "internal error" with a stack trace, and nothing of the user's overwritten. Found by an audit of the CLI
 * (session 32): these were internal errors in eval, info, bench and train while enhance reported them cleanly.
 */
class UserErrorsTest {
  @TempDir static Path tmp;
  private static Path data;
  private static Path low;
  private static Path high;

  @BeforeAll
  static void setUp() throws IOException {
    data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 1, 2, 48, 5);
    low = data.resolve("test/low");
    high = data.resolve("test/high");
  }

  /** Exit code 2 with a one-line "deepspg: ..." message containing {@code expected}. */
  private static void usageError(String expected, String... args) {
    CliTestSupport.Result r = CliTestSupport.run(args);
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains(expected), expected + " in: " + r.err());
    assertFalse(r.err().contains("internal error"), r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  /**
   * A value picocli cannot convert ({@code --tile NaN}, {@code --max-pixels 1e9}, {@code --onednn maybe}) or an
   * unknown option printed the command's whole help, about 100 lines, where the docs promise one line (the CLI audit):
   * now the message, and where the options are listed.
   */
  @Test
  void badFlagValuesAreOneLineAndAHint() {
    String[][] cases = {{"enhance", "a.png", "-o", "o", "--tile", "NaN"}, {"enhance", "a.png", "-o", "o",
        "--max-pixels", "1e9"}, {"enhance", "a.png", "-o", "o", "--onednn", "maybe"}, {"enhance", "a.png"},
        {"demo", "--tilee", "64"}, {"bench", "--iters", "x"}};
    for (String[] args : cases) {
      CliTestSupport.Result r = CliTestSupport.run(args);
      assertEquals(2, r.code(), r.all());
      List<String> lines = r.err().lines().toList();
      assertTrue(lines.get(0).startsWith("deepspg: ") && r.err().contains("--help' for the options."), r.err());
      assertTrue(lines.size() <= 4 && !r.all().contains("Usage:"), "not the whole help: " + r.err());
    }
    assertTrue(CliTestSupport.run(cases[2]).err().contains("'--onednn': oneDNN mode must be on, off or auto"));
  }

  @Test
  void damagedModelFilesAreUsageErrorsEverywhere() throws IOException {
    Path zero = Files.write(tmp.resolve("zero.pth"), new byte[0]);
    Path text = Files.writeString(tmp.resolve("text.pth"), "hello, not a checkpoint\n");
    for (Path bad : new Path[] {zero, text}) {
      usageError("not a PyTorch checkpoint", "eval", "--threads", "1", "--low", low.toString(), "--high",
          high.toString(), "--model", bad.toString());
      usageError("not a PyTorch checkpoint", "info", "--model", bad.toString());
      usageError("not a PyTorch checkpoint", "bench", "--model", bad.toString(), "--size", "32x32", "--batch", "1",
          "--iters", "1");
    }
    // an unusable prior file for s-sem names the ESPNetv2 file that fits it (s = 0.5), not the prior's usual one
    usageError("espnetv2_s_0.5_city_1024x512.pth", "enhance", low.toString(), "-o", tmp.resolve("o").toString(),
        "--model", "s-sem", "--prior-weights", zero.toString());
    usageError("Expected espnetv2_s_0.5_city_1024x512.pth", "eval", "--low", low.toString(), "--high",
        high.toString(), "--model", "s-sem", "--prior-weights", zero.toString());
    // a name that is neither bundled nor a file lists the bundled names; a folder is called a folder
    usageError("neither a bundled model", "enhance", low.toString(), "-o", tmp.resolve("o").toString(), "--model",
        "nosuchmodel");
    usageError("is a folder, not a model weights file", "enhance", low.toString(), "-o", tmp.resolve("o").toString(),
        "--model", tmp.toString());
    // info reads the weights, not only the metadata: NaN weights are refused as enhance and eval refuse them
    Backends.init();
    DeepSPG net = new DeepSPG(DeepSPGConfig.baseline(DeepSPGConfig.Size.S).withChannels(8));
    try (NoGradGuard ng = new NoGradGuard()) {
      net.named_parameters().get("mapping.weight").fill_(new Scalar(Float.NaN));
    }
    Path nan = tmp.resolve("nan.pth");
    TrainCheckpoint.exportWeights(nan, net, net.config().toProperties());
    usageError("NaN or infinite", "info", "--model", nan.toString());
  }

  @Test
  void evalReportPathAndDeviceAreCheckedBeforeTheRun() throws IOException {
    Path input = Files.list(low).sorted().findFirst().orElseThrow();
    byte[] before = Files.readAllBytes(input);
    usageError("refusing to overwrite the input", "eval", "--threads", "1", "--low", low.toString(), "--high",
        high.toString(), "--baseline", "identity", "--json", input.toString());
    assertArrayEquals(before, Files.readAllBytes(input), "the input image is untouched");
    usageError("is a folder", "eval", "--low", low.toString(), "--high", high.toString(), "--baseline", "identity",
        "--json", tmp.toString());
    usageError("unknown device 'tpu'", "eval", "--low", low.toString(), "--high", high.toString(), "--device", "tpu");
    usageError("is a folder", "bench", "--size", "32x32", "--batch", "1", "--iters", "1", "--json", tmp.toString());
    // bench takes the --max-memory its memory refusal tells the user to raise
    usageError("more than the memory limit", "bench", "--size", "256x256", "--batch", "1", "--iters", "1", "--tile",
        "0", "--max-memory", "64m", "--json", tmp.resolve("b.json").toString());
  }

  @Test
  void evalTakesTheArchitectureOfAWeightsFileWithoutMetadata() throws IOException {
    Backends.init();
    DeepSPG net = new DeepSPG(DeepSPGConfig.baseline(DeepSPGConfig.Size.S));
    Path bare = tmp.resolve("bare.pth");
    TrainCheckpoint.exportWeights(bare, net, new Properties());
    usageError("--arch", "eval", "--threads", "1", "--low", low.toString(), "--high", high.toString(), "--model",
        bare.toString());
    CliTestSupport.Result r = CliTestSupport.run("eval", "--threads", "1", "--low", low.toString(), "--high",
        high.toString(), "--model", bare.toString(), "--arch", "s-baseline");
    assertEquals(0, r.code(), r.all());
    usageError("give --model FILE", "eval", "--low", low.toString(), "--high", high.toString(), "--baseline",
        "identity", "--arch", "s");
  }

  @Test
  void argumentMistakesNameWhatIsWrong() throws IOException {
    // an unset shell variable: "" would mean the current folder (enhance "" swept it, -o "" wrote into it)
    usageError("empty string", "enhance", "", "-o", tmp.resolve("out").toString());
    usageError("empty string", "enhance", low.toString(), "-o", "");
    assertFalse(Files.exists(tmp.resolve("out")));
    // an output folder that cannot be made is reported before any image is enhanced
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    usageError("cannot write into the output folder", "enhance", low.toString(), "-o",
        file.resolve("sub").toString());
    Path latin1 = Files.write(tmp.resolve("latin1.properties"),
        "# r\u00e9glages\nvariant=baseline\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    usageError("is not UTF-8 text", "train", "--config", latin1.toString(), "--print-config");
    usageError("a folder, not a file", "train", "--config", tmp.toString(), "--print-config");
    // data synth: --help anywhere, numbers and ranges named
    CliTestSupport.Result help = CliTestSupport.run("data", "synth", "--help");
    assertEquals(0, help.code(), help.all());
    assertTrue(help.out().contains("--gamma MIN,MAX"), help.out());
    CliTestSupport.Result seed = CliTestSupport.run("data", "synth", "--from", low.toString(), "--out",
        tmp.resolve("s").toString(), "--seed", "abc");
    assertEquals(2, seed.code(), seed.all());
    assertTrue(seed.err().contains("--seed: 'abc' is not a number"), seed.err());
    CliTestSupport.Result gamma = CliTestSupport.run("data", "synth", "--from", low.toString(), "--out",
        tmp.resolve("s").toString(), "--gamma", "0.5,0.8");
    assertEquals(2, gamma.code(), gamma.all());
    assertTrue(gamma.err().contains("1 <= min <= max"), gamma.err());
    assertFalse(Files.exists(tmp.resolve("s")), "nothing synthesised");
  }
}
