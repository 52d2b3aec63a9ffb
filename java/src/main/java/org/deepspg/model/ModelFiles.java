/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.deepspg.io.ConfigValues;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.LoadOptions;
import org.deepspg.model.io.ModuleLoader;
import org.deepspg.model.io.StateDict;

/**
 * The one place that turns a trained model into a network: bundled models by name, weights files by path.
 *
 * <p><b>Weights files</b> are PyTorch state dicts (zip format) whose archive carries an entry {@value #META_ENTRY}
 * with the {@link DeepSPGConfig#toProperties()} keys and the training's prior settings ({@code hrnet.input_norm}).
 * {@code deepspg train} writes them ({@code model_final.pth}, {@code model_best.pth}); its training checkpoints
 * ({@code last.pth}: the same entry, tensors prefixed {@value #MODEL_PREFIX}) load too. A file without metadata needs
 * an explicit architecture ({@link #loadFile(Path, DeepSPGConfig)}).
 *
 * <p><b>Bundled models</b> ({@link #BUNDLED}) are classpath resources with their configuration inside, listed by
 * {@code deepspg models}. Nothing is ever downloaded.
 *
 * <p>Everything that runs a trained model — the Enhancer, {@code eval}, {@code bench}, {@code info} — loads it here,
 * so that a name or a path means the same network everywhere.
 */
public final class ModelFiles {
  /** Archive entry holding the configuration. */
  public static final String META_ENTRY = "deepspg.properties";
  /** Tensor-name prefix of the model in training checkpoints. */
  public static final String MODEL_PREFIX = "model.";
  /** Largest {@value #META_ENTRY} accepted (a real one is a few hundred bytes). */
  public static final int MAX_META_BYTES = 1 << 20;
  /** Metadata key of the HRNet input normalisation the model was trained with. */
  public static final String KEY_HRNET_INPUT_NORM = "hrnet.input_norm";

  /**
   * A model that ships inside the library.
   *
   * @param name what {@code --model} takes
   * @param resource classpath resource of the weights file
   * @param description what it is and how good, in one line
   * @param needs external weights it needs at run time ("nothing" for none)
   */
  public record Bundled(String name, String resource, String description, String needs) {}

  /** The bundled models. */
  public static final List<Bundled> BUNDLED = List.of(new Bundled("s", "org/deepspg/models/deepspg-s-baseline.pth",
      "DeepSPG-S, Baseline variant (no SEMs), trained on synthetic pairs from Debian-packaged photos; held-out "
          + "synthetic test 24.18 dB PSNR / 0.698 SSIM (models/deepspg-s-baseline/)", "nothing"),
      new Bundled("s-sem", "org/deepspg/models/deepspg-s-sem.pth",
          "DeepSPG-S with SEMs guided by ESPNetv2 s=0.5 Cityscapes (it sees the network's light-up X_r), same data "
              + "and schedule as s; held-out synthetic test 23.11 dB PSNR / 0.701 SSIM, i.e. not better than s; "
              + "LOL-v1 eval15 17.56 dB vs 17.49 (models/deepspg-s-sem/)",
          "ESPNetv2 weights espnetv2_s_0.5_city_1024x512.pth (--prior-weights FILE; docs/priors.md)"),
      new Bundled("s-night", "org/deepspg/models/deepspg-s-night.pth",
          "DeepSPG-S Baseline for real dark photos: trained on phone-isp synthetic pairs (a phone JPEG's noise, light "
              + "sources, white balance) with the colour loss; on 26 dark real photos 3.6 % pixels newly clipped (s: "
              + "6.1 %), hue drift 6.2 deg (s: 10.2), shadow cast 6.8 (s: 8.9); phone-isp test 18.26 dB (s: 16.66) "
              + "(models/deepspg-s-night/)",
          "nothing"));

  /** Name of the default bundled model. */
  public static final String DEFAULT_NAME = "s";

  private ModelFiles() {}

  /**
   * A network with loaded weights.
   *
   * @param net the network (owned by the caller, who closes it)
   * @param config its configuration
   * @param meta the file's metadata (configuration and training settings; may be empty)
   * @param source where it came from, for messages ("bundled s (...)", a path)
   */
  public record Loaded(DeepSPG net, DeepSPGConfig config, Properties meta, String source) {
    /** @return the HRNet input normalisation the model was trained with ({@code imagenet} when not recorded) */
    public InputNorm hrnetInputNorm() {
      return inputNormOf(meta);
    }
  }

  /**
   * The tensors and metadata of a weights file or training checkpoint.
   *
   * @param tensors every tensor in the archive (prefixes kept)
   * @param meta the {@value #META_ENTRY} entry (empty when absent)
   */
  public record Archive(StateDict tensors, Properties meta) {
    /** @return the model's tensors: those prefixed {@value #MODEL_PREFIX} with the prefix removed, else all */
    public StateDict model() {
      return isTrainingState() ? tensors.filter(n -> n.startsWith(MODEL_PREFIX)).stripPrefix(MODEL_PREFIX) : tensors;
    }

    /** @return whether this is a training checkpoint ({@code last.pth}, {@code best.pth}: prefixed tensors) */
    public boolean isTrainingState() {
      return tensors.names().stream().anyMatch(n -> n.startsWith(MODEL_PREFIX));
    }

    /**
     * The metadata the network's configuration is read from: a weights file's as it is; of a training checkpoint's,
     * which also holds the whole training configuration (validated when the run started, and with keys such as
     * {@code model.size} that the network's parser does not know), only the network's keys.
     *
     * @return those properties
     */
    Properties networkMeta() {
      if (!isTrainingState()) return meta;
      Properties p = new Properties();
      for (String k : meta.stringPropertyNames()) {
        if (DeepSPGConfig.isKey(k)) p.setProperty(k, meta.getProperty(k));
      }
      return p;
    }
  }

  /**
   * Reads a weights file or checkpoint through the safe readers (no code execution).
   *
   * @param file the file
   * @return its tensors and metadata
   * @throws IOException when the file is missing, truncated or corrupt
   */
  public static Archive read(Path file) throws IOException {
    StateDict all = Checkpoints.read(file);
    return new Archive(all, readMeta(file));
  }

  /**
   * The {@value #META_ENTRY} entry of a weights file or checkpoint alone, without reading its tensors.
   *
   * @param file the file
   * @return its metadata (empty when the file has none, e.g. a legacy non-zip PyTorch file)
   * @throws IOException when the file cannot be read or its metadata entry is too large
   */
  public static Properties readMeta(Path file) throws IOException {
    Properties meta = new Properties();
    try (ZipFile z = new ZipFile(file.toFile())) {
      ZipEntry found = z.stream().filter(e -> e.getName().endsWith("/" + META_ENTRY)).findFirst().orElse(null);
      if (found != null) {
        if (found.getSize() > MAX_META_BYTES) {
          throw new org.deepspg.model.io.CheckpointFormatException(file + ": " + META_ENTRY + " declares "
              + found.getSize() + " bytes (at most " + MAX_META_BYTES + ")");
        }
        byte[] b;
        try (InputStream in = z.getInputStream(found)) {
          b = in.readNBytes(MAX_META_BYTES + 1);
        }
        if (b.length > MAX_META_BYTES) {
          throw new org.deepspg.model.io.CheckpointFormatException(file + ": " + META_ENTRY + " is larger than "
              + MAX_META_BYTES + " bytes");
        }
        meta.load(new InputStreamReader(new ByteArrayInputStream(b), StandardCharsets.UTF_8));
      }
    } catch (ZipException e) {
      // legacy (non-zip) PyTorch files carry no metadata entry
    }
    return meta;
  }

  /**
   * Loads a bundled model by name or a weights file by path.
   *
   * @param nameOrPath a {@link #BUNDLED} name (an existing file of that name wins), {@code bundled:NAME}, a path, or
   *     null for the default bundled model
   * @param architecture for a file without metadata (else checked against it); null = the file must carry it
   * @return the loaded network
   * @throws IOException when the file is missing, corrupt or does not fit (messages name the file)
   * @throws IllegalArgumentException for a name that is neither bundled nor an existing file
   */
  public static Loaded load(String nameOrPath, DeepSPGConfig architecture) throws IOException {
    String b = resolveBundled(nameOrPath, architecture);
    if (b != null) return loadBundled(b);
    Path p = Path.of(nameOrPath.trim());
    if (Files.exists(p)) return loadFile(p, architecture);
    throw new IllegalArgumentException("--model: '" + nameOrPath + "' is neither a bundled model (" + names()
        + "; see deepspg models) nor an existing weights file");
  }

  /** Prefix that names a bundled model whatever files exist ({@code bundled:s}). */
  public static final String BUNDLED_PREFIX = "bundled:";

  /**
   * The bundled model a model setting names regardless of the working directory: null (the default model) or
   * {@code bundled:NAME}. A plain name lets an existing file of that name win, so a default that was the plain name
   * {@code s} failed in a folder holding a file {@code s} (the docs audit, session 35).
   *
   * @param spec a model setting, or null
   * @return the bundled name, or null when the setting is a plain name or path
   */
  public static String bundledName(String spec) {
    if (spec == null) return DEFAULT_NAME;
    String s = spec.trim();
    return s.startsWith(BUNDLED_PREFIX) ? s.substring(BUNDLED_PREFIX.length()) : null;
  }

  /**
   * Which bundled model a model setting means, as {@code --model} and {@code Enhancer.Builder.model} read it: the
   * default for null, NAME for {@code bundled:NAME}, a bundled name when no file of that name exists.
   *
   * @param spec a model setting, or null
   * @return the bundled model's name, or null when the setting names a file (existing or not)
   * @throws IllegalArgumentException for {@code bundled:NAME} with no such bundled model
   */
  public static String resolveBundled(String spec) {
    String forced = bundledName(spec);
    if (forced != null) {
      if (bundled(forced).isEmpty()) {
        throw new IllegalArgumentException("no bundled model '" + forced + "' (bundled: " + names() + ")");
      }
      return forced;
    }
    String s = spec.trim();
    return !Files.exists(Path.of(s)) && bundled(s).isPresent() ? s : null;
  }

  /**
   * {@link #resolveBundled(String)} for a setting that comes with an architecture, which only a weights file takes.
   *
   * @param spec a model setting, or null
   * @param architecture the architecture given with it, or null
   * @return the bundled model's name, or null when the setting names a file
   * @throws IllegalArgumentException for {@code bundled:NAME} with no such model, or an architecture for a bundled one
   */
  public static String resolveBundled(String spec, DeepSPGConfig architecture) {
    String b = resolveBundled(spec);
    if (b != null && architecture != null) {
      throw new IllegalArgumentException("an architecture applies to a weights file, not to bundled '" + b + "'");
    }
    return b;
  }

  /**
   * @param name a name
   * @return the bundled model of that name (case-insensitive)
   */
  public static Optional<Bundled> bundled(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    return BUNDLED.stream().filter(b -> b.name().equals(n)).findFirst();
  }

  /**
   * @param b a bundled model
   * @return whether its resource is in this build
   */
  public static boolean available(Bundled b) {
    return ModelFiles.class.getClassLoader().getResource(b.resource()) != null;
  }

  /**
   * Loads a bundled model.
   *
   * @param name a {@link #BUNDLED} name
   * @return the loaded network
   * @throws IOException when its resource is missing from this build (the message says what to do) or unreadable
   */
  public static Loaded loadBundled(String name) throws IOException {
    Bundled b = bundled(name).orElseThrow(() -> new IllegalArgumentException("unknown bundled model '" + name
        + "'; bundled: " + names() + " (or pass a weights file path)"));
    URL url = ModelFiles.class.getClassLoader().getResource(b.resource());
    if (url == null) {
      throw new IOException("no bundled DeepSPG model '" + b.name() + "': the classpath resource " + b.resource()
          + " does not exist in this build. Pass a weights file instead: --model PATH "
          + "(API: Enhancer.builder().checkpoint(path)).");
    }
    Path tmp = null;
    try {
      try (InputStream in = open(url, b)) {
        tmp = Files.createTempFile("deepspg-model-", ".pth");
        try (java.io.OutputStream out = Files.newOutputStream(tmp)) {
          byte[] buf = new byte[1 << 16];
          for (int k; (k = read(in, buf, b)) > 0; ) out.write(buf, 0, k);
        }
      } catch (BundledReadException e) {
        throw e;
      } catch (IOException e) {
        // The readers take a file: on a read-only /tmp (a container's read-only root) say where it goes and how to move
        // it, not only "Read-only file system".
        throw new IOException("cannot unpack the bundled model " + b.name() + " into the temporary folder "
            + System.getProperty("java.io.tmpdir") + " (" + e + "); set TMPDIR (./deepspg passes it on) or "
            + "-Djava.io.tmpdir to a writable folder", e);
      }
      Loaded l = loadFile(tmp, null);
      return new Loaded(l.net(), l.config(), l.meta(), "bundled " + b.name() + " (" + b.resource() + ")");
    } finally {
      if (tmp != null) Files.deleteIfExists(tmp);
    }
  }

  /** The bundled model's resource could not be read (the library jar, not the temporary folder, is at fault). */
  private static final class BundledReadException extends IOException {
    private static final long serialVersionUID = 1L;

    BundledReadException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Reads from a bundled model's resource; its failures name the jar (a library audit, session 35, replaced the jar
   * under a running JVM and was told to fix its temporary folder).
   */
  private static int read(InputStream in, byte[] buf, Bundled b) throws BundledReadException {
    try {
      return in.read(buf);
    } catch (IOException e) {
      throw unreadable(b, e);
    }
  }

  private static InputStream open(URL url, Bundled b) throws BundledReadException {
    try {
      return url.openStream();
    } catch (IOException e) {
      throw unreadable(b, e);
    }
  }

  private static BundledReadException unreadable(Bundled b, IOException e) {
    return new BundledReadException("cannot read the bundled model " + b.name() + " (" + b.resource() + ") from "
        + "the library's jar (" + e + "); was the jar replaced or damaged while this program ran? Restart it", e);
  }

  /**
   * Loads a weights file.
   *
   * @param file weights file (state dict, optional {@value #META_ENTRY} entry)
   * @param config the configuration to use when the file has no metadata, or to check against when it has (the
   *     metadata wins but must agree on width, blocks and SEMs); null = the file must carry its metadata
   * @return the loaded network
   * @throws IOException when the file is missing, corrupt, has no configuration, or does not match it
   * @throws IllegalArgumentException when {@code file} is a folder
   */
  public static Loaded loadFile(Path file, DeepSPGConfig config) throws IOException {
    if (Files.isDirectory(file)) throw new IllegalArgumentException(file + " is a folder, not a model weights file");
    if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "model weights file not found");
    Archive a = read(file);
    DeepSPGConfig meta = configOf(a.networkMeta());
    DeepSPGConfig cfg;
    if (meta == null) {
      if (config == null) {
        throw new IOException(file + ": the weights file carries no DeepSPG configuration (no " + META_ENTRY
            + " entry with " + DeepSPGConfig.KEY_CHANNELS + "); name the architecture explicitly "
            + "(CLI: --arch s|l|s-baseline|l-baseline)");
      }
      cfg = config;
    } else {
      if (config != null && (config.channels() != meta.channels() || config.semEnabled() != meta.semEnabled()
          || !Arrays.equals(config.blocks(), meta.blocks()))) {
        throw new IOException(file + ": the file holds " + meta.describe() + " but " + config.describe()
            + " was requested");
      }
      cfg = meta;
    }
    inputNormOf(a.meta()); // a bad stored value fails here, before any allocation
    // The file must hold at least the values the configuration needs: metadata cannot make us allocate more than the
    // file brings (a few KB claiming 2e9 channels is refused here, before the network is built).
    long need = FlopCounter.parameterCount(cfg);
    long have = 0;
    for (org.deepspg.model.io.TensorData t : a.model()) have += t.numel();
    if (need > have) {
      throw new IOException(file + ": the configuration " + cfg.describe() + " needs " + need
          + " parameters but the file holds " + have + " values");
    }
    DeepSPG net = new DeepSPG(cfg);
    try {
      ModuleLoader.load(net, a.model(), LoadOptions.defaults().strictUnknown(true));
      requireFinite(net, file);
    } catch (IllegalArgumentException | IOException e) {
      net.close();
      if (e instanceof IOException io) throw io;
      throw new IOException(file + ": weights do not fit " + cfg.describe() + ": " + e.getMessage(), e);
    }
    return new Loaded(net, cfg, a.meta(), file.toString());
  }

  /** A NaN or infinite parameter would make every output NaN (a black image): refuse the file, naming the tensor. */
  private static void requireFinite(DeepSPG net, Path file) throws IOException {
    try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
      org.bytedeco.pytorch.StringTensorDict ps = net.named_parameters(true);
      for (long i = 0; i < ps.size(); i++) {
        org.bytedeco.pytorch.Tensor t = ps.get(i).value();
        if (!org.bytedeco.pytorch.global.torch.isfinite(t).all().item_bool()) {
          throw new IOException(file + ": parameter " + ps.get(i).key().getString()
              + " has NaN or infinite values; the file is damaged or the training diverged");
        }
      }
    }
  }

  /**
   * Reads the configuration stored in a weights file's metadata.
   *
   * @param meta the properties of the {@value #META_ENTRY} entry
   * @return the configuration, or null when the properties hold no {@code model.channels} key
   */
  public static DeepSPGConfig configOf(Properties meta) {
    if (meta == null || meta.getProperty(DeepSPGConfig.KEY_CHANNELS) == null) return null;
    return DeepSPGConfig.fromProperties(meta);
  }

  /**
   * Parses an architecture name: {@code s}, {@code l} (the paper's configurations with SEMs), {@code s-baseline},
   * {@code l-baseline} (without SEMs).
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

  /** @return the bundled models' names, comma-separated */
  public static String names() {
    return BUNDLED.stream().map(Bundled::name).collect(Collectors.joining(", "));
  }

  private static InputNorm inputNormOf(Properties meta) {
    String v = meta == null ? null : meta.getProperty(KEY_HRNET_INPUT_NORM);
    return v == null ? InputNorm.IMAGENET : ConfigValues.enumValue(KEY_HRNET_INPUT_NORM, v, InputNorm.class);
  }
}
