/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Properties;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.io.LoadOptions;
import org.deepspg.model.io.ModuleLoader;
import org.deepspg.train.TrainCheckpoint;

/**
 * Where enhancement weights come from: bundled classpath models, weights files with their configuration inside, or
 * a preset configuration plus a plain state dict.
 *
 * <p><b>Weights files</b> are plain PyTorch state dicts (as written by {@link TrainCheckpoint#exportWeights}; a
 * training checkpoint with {@code model.}-prefixed keys also works) whose zip archive carries an entry
 * {@code deepspg.properties} with the {@link DeepSPGConfig#toProperties()} keys. A file without that entry needs an
 * explicit configuration ({@link #loadFile(Path, DeepSPGConfig)}).
 *
 * <p><b>Bundled models</b> are classpath resources {@code org/deepspg/models/deepspg-<name>-baseline.pth} with the
 * configuration inside; {@code name} is {@code s} (the default, DeepSPG-S Baseline) or {@code l}. Nothing is ever
 * downloaded; when a resource is absent the loader fails with a message saying so (there is no fallback model).
 */
public final class Models {
  /** Classpath folder of the bundled weights. */
  public static final String RESOURCE_DIR = "org/deepspg/models/";
  /** Name of the default bundled model. */
  public static final String DEFAULT_NAME = "s";

  private Models() {}

  /**
   * A network with loaded weights.
   *
   * @param net the network (owned by the caller, who closes it; DeepSPG has no train/eval-dependent layers)
   * @param config its configuration
   * @param source where it came from, for messages ("bundled s", a path)
   */
  public record Loaded(DeepSPG net, DeepSPGConfig config, String source) {}

  /**
   * @param name bundled model name ({@code s} or {@code l})
   * @return its classpath resource path, e.g. {@code org/deepspg/models/deepspg-s-baseline.pth}
   */
  public static String resourceFor(String name) {
    String n = normalizeName(name);
    return RESOURCE_DIR + "deepspg-" + n + "-baseline.pth";
  }

  /**
   * @param name bundled model name
   * @return whether its resource is on the classpath
   */
  public static boolean bundledAvailable(String name) {
    return Models.class.getClassLoader().getResource(resourceFor(name)) != null;
  }

  /**
   * Loads a bundled model.
   *
   * @param name {@code s} or {@code l}
   * @return the loaded network
   * @throws IOException when the resource is missing (the message says what to do) or unreadable
   */
  public static Loaded loadBundled(String name) throws IOException {
    String res = resourceFor(name);
    URL url = Models.class.getClassLoader().getResource(res);
    if (url == null) {
      throw new IOException("no bundled DeepSPG model '" + normalizeName(name) + "': the classpath resource " + res
          + " does not exist in this build (the bundled DeepSPG-S Baseline checkpoint is produced by training and "
          + "added to java/src/main/resources/" + RESOURCE_DIR + "). Pass a weights file instead: --model PATH "
          + "(API: Enhancer.builder().checkpoint(path)).");
    }
    Path tmp = Files.createTempFile("deepspg-model-", ".pth");
    try {
      try (InputStream in = url.openStream()) {
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      }
      Loaded l = loadFile(tmp, null);
      return new Loaded(l.net(), l.config(), "bundled " + normalizeName(name) + " (" + res + ")");
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Loads a weights file.
   *
   * @param file weights file (state dict, optional {@code deepspg.properties} entry)
   * @param config the configuration to use when the file has no metadata, or to check against when it has (the
   *     metadata wins but must agree on width, blocks and SEMs); null = the file must carry its metadata
   * @return the loaded network
   * @throws IOException when the file is missing, corrupt, has no configuration, or does not match it
   */
  public static Loaded loadFile(Path file, DeepSPGConfig config) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new java.nio.file.NoSuchFileException(file.toString(), null, "model weights file not found");
    }
    TrainCheckpoint.Loaded ck = TrainCheckpoint.read(file);
    DeepSPGConfig meta = configOf(ck.meta());
    DeepSPGConfig cfg;
    if (meta == null) {
      if (config == null) {
        throw new IOException(file + ": the weights file carries no DeepSPG configuration (no "
            + TrainCheckpoint.META_ENTRY + " entry with " + DeepSPGConfig.KEY_CHANNELS + "); name the architecture "
            + "explicitly (CLI: --arch s|l|s-baseline|l-baseline)");
      }
      cfg = config;
    } else {
      if (config != null && (config.channels() != meta.channels() || config.semEnabled() != meta.semEnabled()
          || !java.util.Arrays.equals(config.blocks(), meta.blocks()))) {
        throw new IOException(file + ": the file holds " + meta.describe() + " but " + config.describe()
            + " was requested");
      }
      cfg = meta;
    }
    DeepSPG net = new DeepSPG(cfg);
    try {
      ModuleLoader.load(net, ck.model(), LoadOptions.defaults());
    } catch (IllegalArgumentException e) {
      net.close();
      throw new IOException(file + ": weights do not fit " + cfg.describe() + ": " + e.getMessage(), e);
    }
    return new Loaded(net, cfg, file.toString());
  }

  /**
   * Reads the configuration stored in a weights file's metadata.
   *
   * @param meta the properties of the {@code deepspg.properties} entry
   * @return the configuration, or null when the properties hold no {@code model.channels} key
   */
  public static DeepSPGConfig configOf(Properties meta) {
    if (meta == null || meta.getProperty(DeepSPGConfig.KEY_CHANNELS) == null) return null;
    return DeepSPGConfig.fromProperties(meta);
  }

  /**
   * Parses an architecture name: {@code s}, {@code l} (the paper's configurations with SEMs),
   * {@code s-baseline}, {@code l-baseline} (without SEMs).
   *
   * @param name the name (case-insensitive)
   * @return the configuration
   * @throws IllegalArgumentException for another name
   */
  public static DeepSPGConfig preset(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    return switch (n) {
      case "s" -> DeepSPGConfig.s();
      case "l" -> DeepSPGConfig.l();
      case "s-baseline" -> DeepSPGConfig.baseline(DeepSPGConfig.Size.S);
      case "l-baseline" -> DeepSPGConfig.baseline(DeepSPGConfig.Size.L);
      default -> throw new IllegalArgumentException("unknown architecture '" + name
          + "'; use s, l, s-baseline or l-baseline");
    };
  }

  private static String normalizeName(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    if (!n.equals("s") && !n.equals("l")) {
      throw new IllegalArgumentException("unknown bundled model '" + name + "'; use s or l (or a weights file path)");
    }
    return n;
  }
}
