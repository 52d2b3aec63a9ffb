/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.deepspg.cli.EnhanceCommand;
import org.deepspg.data.Image;
import org.deepspg.data.ImageReadException;
import org.deepspg.data.Images;
import org.deepspg.data.OutputMark;
import org.deepspg.data.ReadOptions;
import org.deepspg.data.WriteOptions;
import org.deepspg.infer.Enhancer;
import org.deepspg.io.RealPaths;

/**
 * Spark ML transformer that enhances the images of a DataFrame with a {@code path} (string) and a {@code content}
 * (binary) column, such as Spark's {@code binaryFile} source gives.
 *
 * <p>The result keeps every input column except {@code content} and adds {@code enhanced} (binary: the encoded
 * output, in the format its name selects, null when written to a folder or on error), {@code output} (string: the
 * file written, or null), {@code status} ({@code "ok"}, {@code "error"}, {@code "kept"} or {@code "skipped"}),
 * {@code error} (string, null when ok or skipped) and {@code notice} (string: what reading did that the file did not
 * ask for, such as an ICC profile ignored or a JPEG end marker missing, as {@code deepspg enhance} prints it; null when
 * nothing). A bad image (not an image, truncated, too many pixels, too large for the Java heap) becomes a row with an
 * error, never a failed task.
 *
 * <p>Each executor JVM builds one {@link Enhancer} per settings on first use ({@link EnhancerPool}) and reuses it;
 * rows are enhanced {@link EnhancerSettings#batchSize()} at a time (same-size images share a forward pass).
 *
 * <p>With {@link #setOutputDir(String)} every output is written to the output folder under the input's path
 * relative to {@link #setInputRoot(String)} (WebP becomes PNG, like {@code deepspg enhance}), through a temporary
 * file in the target folder renamed atomically onto its final name: a retried or speculative task rewrites the same
 * name with the same bytes and never leaves a torn or second copy. Paths must name a file system that every
 * executor shares. A file at an output's name that deepspg did not write (it has no {@link OutputMark} and other
 * pixels) is kept and its row is {@code "kept"}, unless {@link #setOverwrite(boolean)}: the rule of {@code deepspg
 * enhance} ({@link OutputMark.Existing}).
 */
public final class EnhanceImages extends Transformer {
  private static final long serialVersionUID = 1L;

  /** The status of a row whose image was enhanced. */
  public static final String OK = "ok";
  /** The status of a row whose image failed; {@code error} says why. */
  public static final String ERROR = "error";
  /**
   * The status of a row whose output's name holds a file that deepspg did not write: the file is kept, the image not
   * enhanced (or its output not written); {@code error} says which file.
   */
  public static final String KEPT = "kept";
  /**
   * The status of a row left out because its output file exists ({@link #setSkipExisting(boolean)}): not read, not
   * written; {@code error} is null.
   */
  public static final String SKIPPED = "skipped";

  /**
   * Test-only fault injection, called after each output file is written with the input path and the task's attempt
   * number; it may throw to fail the task. Only works where the executor runs in the driver's JVM (local mode).
   */
  interface AfterWrite {
    void accept(String inputPath, int attempt);
  }

  static volatile AfterWrite afterWrite;

  private final String uid;
  private EnhancerSettings settings = EnhancerSettings.defaults();
  private String outputDir;
  private String inputRoot;
  private long maxPixels = ReadOptions.DEFAULT_MAX_PIXELS;
  private int jpegQuality = WriteOptions.DEFAULT.jpegQuality();
  private boolean keepExif = true;
  private boolean overwrite;
  private boolean skipExisting;

  /** Creates a transformer with a random uid and the default settings. */
  public EnhanceImages() {
    this(Identifiable$.MODULE$.randomUID("enhanceImages"));
  }

  /**
   * @param uid the ML pipeline uid
   */
  public EnhanceImages(String uid) {
    this.uid = uid;
  }

  @Override
  public String uid() {
    return uid;
  }

  /**
   * @param s model choices (weights paths readable by every executor)
   * @return this
   */
  public EnhanceImages setSettings(EnhancerSettings s) {
    if (s == null) throw new IllegalArgumentException("settings are null");
    this.settings = s;
    return this;
  }

  /** @return the model choices */
  public EnhancerSettings getSettings() {
    return settings;
  }

  /**
   * @param dir folder (shared by the executors) to write outputs into, or null to return the bytes instead
   * @return this
   */
  public EnhanceImages setOutputDir(String dir) {
    this.outputDir = dir;
    return this;
  }

  /**
   * @param dir folder the inputs' relative output paths start from (default: outputs are named by file name only)
   * @return this
   */
  public EnhanceImages setInputRoot(String dir) {
    this.inputRoot = dir;
    return this;
  }

  /**
   * @param n refuse inputs with more pixels than this (checked from the header)
   * @return this
   */
  public EnhanceImages setMaxPixels(long n) {
    if (n < 1) throw new IllegalArgumentException("max pixels must be >= 1, got " + n);
    this.maxPixels = n;
    return this;
  }

  /**
   * @param q JPEG quality of JPEG outputs (1-100)
   * @return this
   */
  public EnhanceImages setJpegQuality(int q) {
    WriteOptions.DEFAULT.withJpegQuality(q); // validates
    this.jpegQuality = q;
    return this;
  }

  /**
   * @param keep whether JPEG and PNG outputs carry the input's EXIF block (default true, as {@code deepspg enhance});
   *     false strips it ({@code --strip-metadata}: no capture date, camera or GPS location)
   * @return this
   */
  public EnhanceImages setKeepExif(boolean keep) {
    this.keepExif = keep;
    return this;
  }

  /**
   * @param on whether an output replaces any file of its name ({@code --overwrite}); by default (false) a file that
   *     deepspg did not write is kept and the row is {@value #KEPT}, as {@code deepspg enhance} does
   * @return this
   */
  public EnhanceImages setOverwrite(boolean on) {
    this.overwrite = on;
    return this;
  }

  /**
   * @param on whether an input whose output file exists already (whoever wrote it) is left out, its row
   *     {@value #SKIPPED} ({@code --skip-existing}: resumes a stopped run, outputs being written whole or not at all);
   *     only with an output folder, and not with {@link #setOverwrite(boolean)}
   * @return this
   */
  public EnhanceImages setSkipExisting(boolean on) {
    this.skipExisting = on;
    return this;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    List<String> names = Arrays.asList(schema.fieldNames());
    if (!names.contains("path") || !names.contains("content")) {
      throw new IllegalArgumentException("EnhanceImages needs string column 'path' and binary column 'content' "
          + "(Spark's binaryFile source), got " + schema.simpleString());
    }
    if (!schema.apply("content").dataType().equals(DataTypes.BinaryType)) {
      throw new IllegalArgumentException("column 'content' must be binary, got " + schema.apply("content").dataType());
    }
    List<StructField> out = new ArrayList<>();
    for (StructField f : schema.fields()) if (!f.name().equals("content")) out.add(f);
    out.add(DataTypes.createStructField("enhanced", DataTypes.BinaryType, true));
    out.add(DataTypes.createStructField("output", DataTypes.StringType, true));
    out.add(DataTypes.createStructField("status", DataTypes.StringType, false));
    out.add(DataTypes.createStructField("error", DataTypes.StringType, true));
    out.add(DataTypes.createStructField("notice", DataTypes.StringType, true));
    return DataTypes.createStructType(out);
  }

  /**
   * {@inheritDoc}
   *
   * <p>With an output folder this first checks the outputs' names (one Spark pass over the {@code path} column, no
   * image read) and refuses with {@link IllegalArgumentException}, before any image is enhanced: an output folder
   * equal to or inside the input root, two inputs whose outputs would share a name (e.g. {@code a.webp} and
   * {@code a.png}, or {@code in/x.jpg} and {@code in/sub/x.jpg} without an input root), an output that would land on
   * an input file (an input folder inside the output folder). Each of these overwrote data before session 35.
   */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType in = dataset.schema();
    StructType out = transformSchema(in);
    if (skipExisting && overwrite) {
      throw new IllegalArgumentException("skip-existing and overwrite contradict each other; choose one");
    }
    if (outputDir != null) checkOutputs(dataset.toDF(), outputDir, inputRoot);
    Job job = new Job(settings, outputDir, inputRoot, maxPixels, jpegQuality, keepExif, overwrite, skipExisting,
        in.fieldIndex("path"), in.fieldIndex("content"), in.size());
    return dataset.toDF().mapPartitions(job, Encoders.row(out));
  }

  @Override
  public EnhanceImages copy(ParamMap extra) {
    EnhanceImages c = new EnhanceImages(uid);
    c.settings = settings;
    c.outputDir = outputDir;
    c.inputRoot = inputRoot;
    c.maxPixels = maxPixels;
    c.jpegQuality = jpegQuality;
    c.keepExif = keepExif;
    c.overwrite = overwrite;
    c.skipExisting = skipExisting;
    return copyValues(c, extra);
  }

  /** See {@link #transform}: refuses output names that would lose or overwrite data. */
  static void checkOutputs(Dataset<Row> files, String outputDir, String inputRoot) {
    Path out = localPath(outputDir).toAbsolutePath().normalize();
    if (inputRoot != null) {
      Path root = localPath(inputRoot).toAbsolutePath().normalize();
      if (out.startsWith(root) || RealPaths.of(out).startsWith(RealPaths.of(root))) {
        throw new IllegalArgumentException("the output folder " + outputDir + " is the input folder " + inputRoot
            + " or inside it: outputs would overwrite the originals or be read as inputs by the next job; choose "
            + "an output folder outside it");
      }
    }
    String dir = out.toString();
    // (input as a local path, its output file) for every row
    // Rows without a path become error rows in the job; the same file twice is one input (a rerun writes it twice).
    Dataset<Row> t = files.select("path").filter(functions.col("path").isNotNull()).distinct()
        .map((MapFunction<Row, Row>) r -> {
      Path input = localPath(r.getString(0)).toAbsolutePath().normalize();
      Path rel = relativeOutput(input, inputRoot == null ? null : localPath(inputRoot));
      return RowFactory.create(input.toString(), Path.of(dir).resolve(rel.toString()).toString());
    }, Encoders.row(DataTypes.createStructType(List.of(
        DataTypes.createStructField("input", DataTypes.StringType, false),
        DataTypes.createStructField("target", DataTypes.StringType, false)))));
    List<Row> shared = t.groupBy("target").agg(functions.count("input").as("n"), functions.min("input"),
        functions.max("input")).filter(functions.col("n").gt(1)).orderBy("target").limit(3).collectAsList();
    if (!shared.isEmpty()) {
      Row r = shared.get(0);
      throw new IllegalArgumentException(r.getLong(1) + " inputs would be written to the same output " + r.getString(0)
          + " (" + r.getString(2) + ", " + r.getString(3) + (r.getLong(1) > 2 ? ", ..." : "") + ")"
          + (shared.size() > 1 ? " and more outputs are shared" : "") + "; "
          + (inputRoot == null ? "set an input root (setInputRoot) so that outputs keep their folders"
              : "rename one of them"));
    }
    List<Row> onInput = t.as("o").join(t.as("i"), functions.col("o.target").equalTo(functions.col("i.input")))
        .select("o.input", "o.target").limit(1).collectAsList();
    if (!onInput.isEmpty()) {
      throw new IllegalArgumentException("the output of " + onInput.get(0).getString(0) + " would overwrite the "
          + "input " + onInput.get(0).getString(1) + "; choose an output folder outside the inputs");
    }
  }

  /**
   * The output file name of an input: its path relative to the root (its file name when it is outside or no root is
   * given), named as {@code deepspg enhance} names it (WebP becomes PNG).
   *
   * @param input the input file
   * @param root the input folder, or null
   * @return the relative output path
   */
  static Path relativeOutput(Path input, Path root) {
    Path rel = input.getFileName();
    if (root != null) {
      Path a = input.toAbsolutePath().normalize();
      Path r = root.toAbsolutePath().normalize();
      if (a.startsWith(r) && !a.equals(r)) rel = r.relativize(a);
    }
    return EnhanceCommand.outputName(rel);
  }

  /**
   * A path column value as a local path: binaryFile gives Hadoop path strings such as {@code file:/a/b c#1.png}
   * (scheme, no percent-encoding), which are not URIs.
   */
  static Path localPath(String p) {
    if (p.startsWith("file:")) {
      String rest = p.substring("file:".length());
      if (rest.startsWith("//localhost/")) rest = rest.substring("//localhost".length()); // file://localhost/a
      if (rest.startsWith("//")) rest = rest.substring(2); // file:///a: empty authority
      return Path.of(rest);
    }
    return Path.of(p);
  }

  /**
   * The error of an image too large for the executor's Java heap (its float copies, its encoded output): it fails
   * alone, as in {@code deepspg enhance}, instead of the task, whose OutOfMemoryError Spark's executor takes as fatal
   * (the JVM exits with code 52, every task on it lost, in local mode the whole command).
   */
  private static String heapError(OutOfMemoryError e) {
    return "not enough Java heap for this image (" + e.getMessage() + "; raise it with spark.executor.memory, or "
        + "DEEPSPG_JAVA_OPTS=-Xmx... for ./deepspg spark-enhance, default 8g)";
  }

  /** The error of a {@value #KEPT} row. */
  private static String keptReason(Path target) {
    return OutputMark.keptReason(target) + ", not enhanced: pass --overwrite (setOverwrite) to replace it, or choose "
        + "another output folder";
  }

  /** The per-partition work, shipped to the executors (settings and column positions only). */
  private record Job(EnhancerSettings settings, String outputDir, String inputRoot, long maxPixels, int jpegQuality,
      boolean keepExif, boolean overwrite, boolean skipExisting, int pathIdx, int contentIdx, int width)
      implements MapPartitionsFunction<Row, Row> {
    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      return new Iterator<>() {
        private final List<Row> ready = new ArrayList<>();
        private int next;

        @Override
        public boolean hasNext() {
          if (next < ready.size()) return true;
          ready.clear();
          next = 0;
          List<Row> batch = new ArrayList<>();
          while (batch.size() < settings.batchSize() && rows.hasNext()) batch.add(rows.next());
          if (batch.isEmpty()) return false;
          ready.addAll(process(batch));
          return true;
        }

        @Override
        public Row next() {
          if (!hasNext()) throw new NoSuchElementException();
          return ready.get(next++);
        }
      };
    }

    private List<Row> process(List<Row> batch) {
      ReadOptions ro = ReadOptions.DEFAULT.withMaxPixels(maxPixels);
      WriteOptions wo = WriteOptions.DEFAULT.withJpegQuality(jpegQuality).withKeepExif(keepExif);
      int n = batch.size();
      String[] errors = new String[n];
      String[] notices = new String[n];
      Image[] decoded = new Image[n];
      Path[] inputs = new Path[n];
      Path[] targets = new Path[n];
      boolean[] kept = new boolean[n];
      boolean[] skipped = new boolean[n];
      boolean[] compare = new boolean[n]; // an unmarked file of the input's size: written only if the same pixels
      for (int i = 0; i < n; i++) {
        Row r = batch.get(i);
        String p = r.getString(pathIdx);
        try {
          inputs[i] = localPath(p);
          if (outputDir != null) {
            Path rel = relativeOutput(inputs[i], inputRoot == null ? null : localPath(inputRoot));
            targets[i] = localPath(outputDir).resolve(rel.toString());
            if (skipExisting && Files.exists(targets[i], LinkOption.NOFOLLOW_LINKS)) { // a resumed run: not read
              skipped[i] = true;
              continue;
            }
          }
          byte[] bytes = r.isNullAt(contentIdx) ? new byte[0] : (byte[]) r.get(contentIdx);
          decoded[i] = Images.decode(bytes, inputs[i], ro);
          notices[i] = decoded[i].metadata().notice();
          if (outputDir != null) {
            // decided before the work, as enhance does: a kept file's image is not enhanced
            OutputMark.Existing ex = overwrite ? OutputMark.Existing.REPLACE : OutputMark.existing(targets[i],
                new int[] {decoded[i].width(), decoded[i].height()}, ro);
            if (ex == OutputMark.Existing.KEEP) {
              kept[i] = true;
              decoded[i] = null;
            }
            compare[i] = ex == OutputMark.Existing.COMPARE;
          }
        } catch (ImageReadException e) {
          errors[i] = e.reason();
        } catch (RuntimeException e) {
          errors[i] = String.valueOf(e.getMessage());
        } catch (OutOfMemoryError e) {
          errors[i] = heapError(e);
        }
      }
      List<Image> good = new ArrayList<>();
      for (Image im : decoded) if (im != null) good.add(im);
      List<Image> enhanced = List.of();
      String batchError = null;
      if (!good.isEmpty()) {
        try {
          Enhancer e = EnhancerPool.get(settings);
          // Concurrent tasks of this executor share the Enhancer: one forward pass at a time.
          synchronized (e) {
            enhanced = e.enhance(good);
          }
        } catch (RuntimeException e) {
          batchError = "enhance failed: " + e.getMessage();
        } catch (OutOfMemoryError e) {
          batchError = heapError(e);
        }
      }
      List<Row> out = new ArrayList<>(n);
      int k = 0;
      for (int i = 0; i < n; i++) {
        Row r = batch.get(i);
        byte[] bytes = null;
        String written = null;
        String error = errors[i];
        String status = error == null ? OK : ERROR;
        if (skipped[i]) {
          status = SKIPPED;
        } else if (kept[i]) {
          status = KEPT;
          error = keptReason(targets[i]);
        } else if (decoded[i] != null) {
          Image res = batchError == null ? enhanced.get(k) : null;
          k++;
          if (res == null) {
            error = batchError;
            status = ERROR;
          } else {
            try {
              Path rel = relativeOutput(inputs[i], inputRoot == null ? null : localPath(inputRoot));
              String format = Images.formatForPath(rel);
              // marked as enhance marks its outputs, so that a later enhance into this folder replaces them
              byte[] enc = OutputMark.mark(Images.encode(res, format, wo), format);
              if (outputDir == null) {
                bytes = enc;
              } else {
                Path target = targets[i];
                Images.requireDistinct(inputs[i], target); // through links, which the name check does not see
                if (compare[i] && !OutputMark.samePixels(target, enc, ro)) {
                  status = KEPT;
                  error = keptReason(target);
                } else {
                  Images.writeBytesAtomic(enc, target);
                  written = target.toString();
                }
              }
            } catch (IOException | RuntimeException e) {
              error = "write failed: " + e.getMessage();
              status = ERROR;
            } catch (OutOfMemoryError e) {
              error = heapError(e);
              status = ERROR;
            }
            AfterWrite hook = afterWrite;
            if (hook != null && written != null) {
              TaskContext tc = TaskContext.get();
              hook.accept(r.getString(pathIdx), tc == null ? 0 : tc.attemptNumber());
            }
          }
        }
        Object[] vals = new Object[width - 1 + 5];
        int c = 0;
        for (int j = 0; j < width; j++) if (j != contentIdx) vals[c++] = r.get(j);
        vals[c++] = error == null ? bytes : null;
        vals[c++] = error == null ? written : null;
        vals[c++] = status;
        vals[c++] = error;
        vals[c] = notices[i] == null || notices[i].isEmpty() ? null : notices[i];
        out.add(RowFactory.create(vals));
      }
      return out;
    }
  }
}
