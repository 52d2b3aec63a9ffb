/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.DatasetException;
import org.deepspg.data.DatasetLayouts;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.data.Images;
import org.deepspg.data.PairAugment;
import org.deepspg.data.PairLoader;
import org.deepspg.data.PairedDataset;
import org.deepspg.data.Split;
import org.deepspg.eval.Metrics;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.Pipeline;
import org.deepspg.io.AtomicFile;
import org.deepspg.io.RealPaths;
import org.deepspg.io.ConfigValues;
import org.deepspg.io.ProgressBar;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.io.LoadOptions;
import org.deepspg.model.io.ModuleLoader;
import org.deepspg.model.prior.ImagePriors;
import org.deepspg.ops.Backends;
import org.deepspg.ops.Devices;
import org.deepspg.ops.OneDnn;

/**
 * Trains DeepSPG (spec §4.5 per-step recipe) with exact resume.
 *
 * <p><b>One step:</b> image-prior features (HRNet-W48 or ESPNetv2, {@code sem.prior}) of X_in (or of X_r, with
 * {@code sem.prior_input = retinex}) without gradient (when the SEMs are on) → forward → {@link Losses} → backward
 * → global grad-norm clip → {@link Adam} step with the cosine LR of that step. Each step runs inside its own
 * {@link PointerScope}.
 *
 * <p><b>Determinism and resume.</b> Every random choice is a function of (seed, epoch, batch index): the weight
 * initialisation ({@code torch.manual_seed(seed)}), the data order and the crops ({@link PairLoader}). A checkpoint
 * stores the weights, Adam's moments and step, and the position (epoch, batches consumed in it, global step), so
 * resuming skips the consumed batches of the current epoch and continues with bit-identical updates (same thread
 * count; see docs/training.md). Checkpoints are written atomically ({@link AtomicFile}): a run killed at any moment
 * loses at most the steps since its last checkpoint and never leaves a corrupt file.
 *
 * <p><b>Run folder</b> ({@code run.dir}): {@code config.properties} (resolved), {@code last.pth} and {@code best.pth}
 * (full training state, {@link TrainCheckpoint}), {@code model_best.pth} and {@code model_final.pth} (weights only,
 * with the model configuration as metadata), {@code metrics.jsonl} and {@code metrics.csv}, {@code losses.png},
 * {@code lr.png}, {@code val_psnr.png}, {@code val_ssim.png}, {@code samples/step_NNNNNNNN.png}. One run at a time
 * per folder (a lock file, {@code .deepspg-train.lock}, held while {@link #run()} runs); never inside a dataset. A
 * resumed run continues in its checkpoint's folder unless the overrides name {@code run.dir}.
 *
 * <p>Construct outside any {@link PointerScope}. Not thread-safe.
 */
public final class Trainer implements AutoCloseable {
  /** Value of {@code state.format} in training checkpoints. */
  public static final String FORMAT = "deepspg-train-1";
  /** Value of {@code format} in exported weights files. */
  public static final String WEIGHTS_FORMAT = "deepspg-weights-1";

  /**
   * What one optimisation step did.
   *
   * @param losses the unweighted terms in the order of {@link Losses#NAMES} (NaN when skipped), then the weighted
   *     total (index {@link Losses#TOTAL})
   * @param gradNorm global gradient norm before clipping
   * @param termGradNorms {@code ||∂(λ_i L_i)/∂X_out||} in the order of {@link Losses#NAMES}, or null when not
   *     requested
   * @param lr learning rate used
   * @param batch global batch size (over all workers)
   * @param patch patch side
   */
  public record StepStats(double[] losses, double gradNorm, double[] termGradNorms, double lr, int batch, int patch) {}

  /**
   * Outcome of {@link #run()}.
   *
   * @param steps global steps done
   * @param epoch the epoch the run stopped in (or after the last, when complete)
   * @param bestPsnr best validation PSNR (NaN without validation)
   * @param bestStep step of the best validation (-1 without)
   * @param lastPsnr PSNR of the last validation (NaN without)
   * @param lastCheckpoint path of last.pth
   * @param finalWeights path of model_final.pth
   */
  public record Result(long steps, int epoch, double bestPsnr, long bestStep, double lastPsnr, Path lastCheckpoint,
      Path finalWeights) {}

  private final TrainConfig cfg;
  private final Priors priors;
  private final DeepSPG model;
  private final Adam adam;
  private final Losses losses;
  private final Pipeline pipeline; // pad → prior → network → crop, for training steps and validation
  private final TensorVector paramVec;
  private final Device device;
  private final DataParallel dp;
  private PrintStream console;

  // Position in the run (what a checkpoint stores).
  private long step;
  private int epoch = 1;
  private int batchInEpoch;
  private double bestPsnr = Double.NaN;
  private long bestStep = -1;
  private boolean resumed;
  /** Training pairs of the run that wrote the checkpoint resumed from (-1: not resumed, or not recorded). */
  private int checkpointPairs = -1;
  /** The run.dir a resumed run was started in, when it now continues in its checkpoint's folder; else null. */
  private Path resumedFrom;
  /** The checkpoint's folder, when a resume writes into another run.dir (a fork, {@link #forkTarget}); else null. */
  private Path forkedFrom;
  private boolean trainingMode;

  /**
   * Builds the network (initialised from {@code seed}), the optimiser and the losses.
   *
   * @param cfg the configuration
   * @param priors the frozen networks the configuration needs ({@link Priors#load})
   */
  public Trainer(TrainConfig cfg, Priors priors) {
    this(cfg, priors, DataParallel.single());
  }

  /**
   * Builds one worker of a data-parallel run ({@link DataParallel}): every worker builds the same network from the
   * same seed, takes its slice of each global batch and averages gradients with the others; only rank 0 writes the run
   * folder and prints.
   *
   * @param cfg the configuration (the same on every worker; batch sizes are global and must divide by the world size)
   * @param priors the frozen networks the configuration needs ({@link Priors#load})
   * @param dp the process group this worker belongs to ({@link DataParallel#single()} for a one-process run)
   */
  public Trainer(TrainConfig cfg, Priors priors, DataParallel dp) {
    Backends.init();
    this.dp = dp;
    setConsole(System.err);
    if (cfg.threads() > 0) torch.set_num_threads(cfg.threads());
    if (cfg.needsImagePrior() && priors.image() == null) {
      throw new IllegalArgumentException("this configuration needs the image prior " + cfg.model().semPrior()
          + " (sem.enabled or loss.sem > 0) but none was given");
    }
    if (cfg.needsClip() && (priors.clip() == null || priors.tokenizer() == null)) {
      throw new IllegalArgumentException("this configuration needs CLIP and its tokenizer (loss.mul > 0) but none was given");
    }
    // The SEMs take the prior's feature widths (their 1x1 projections are sized by them); recorded in the weights.
    DeepSPGConfig mc = cfg.model();
    if (mc.semEnabled()) {
      if (!priors.image().id().equals(mc.semPrior())) {
        throw new IllegalArgumentException("sem.prior is " + mc.semPrior() + " but the loaded image prior is "
            + priors.image().id());
      }
      mc = mc.withSemPrior(priors.image().id(), priors.image().featureChannels());
    }
    this.cfg = cfg;
    this.priors = priors;
    this.device = new Device(Devices.resolve(cfg.device(), "config key 'device'"));
    torch.manual_seed(cfg.seed());
    this.model = new DeepSPG(mc);
    if (!cfg.device().equals("cpu")) { // Module.to recurses through Java peers (see JavaModule): only when needed
      model.to(device, false);
      if (priors.image() != null) priors.image().to(device, torch.ScalarType.Float);
      if (priors.clip() != null) priors.clip().to(device, false);
    }
    LinkedHashMap<String, Tensor> params = new LinkedHashMap<>();
    StringTensorDict d = model.named_parameters(true);
    for (long i = 0; i < d.size(); i++) {
      // Own handle: a dict item's value() points into the dict, which the GC may free (then grad() segfaults).
      Tensor own = new Tensor(d.get(i).value());
      own.retainReference();
      params.put(d.get(i).key().getString(), own);
    }
    this.paramVec = new TensorVector(params.values().toArray(new Tensor[0]));
    this.adam = new Adam(params, cfg.optimizer().beta1(), cfg.optimizer().beta2(), cfg.optimizer().eps());
    this.pipeline = new Pipeline(model, priors.image());
    this.losses = new Losses(cfg.lossWeights(), cfg.edgeOperator(), priors.image(), cfg.semTemperature(),
        priors.clip(), priors.tokenizer(), cfg.loss().lowText(), cfg.loss().highText());
  }

  /**
   * Restores a run from a training checkpoint: configuration = the stored one with {@code overrides} applied
   * ({@link TrainConfig#with}); then weights, optimiser state and position. Its run.dir becomes the checkpoint's
   * folder (a copied or moved run must not write over the folder it started in) unless {@code overrides} sets it:
   * the run is then forked there, and {@link #run()} removes that folder's earlier run outputs as a new run does
   * (the CLI refuses a folder holding another run unless {@code --overwrite}; callers of this API check it
   * themselves, e.g. with {@link #earlierRunOutputs}).
   *
   * @param checkpoint a {@code last.pth}/{@code best.pth} written by a trainer
   * @param overrides keys to change (e.g. {@code max_steps}, {@code epochs}); may be empty
   * @param priors the frozen networks, or null to load them from the configuration
   * @return the trainer, positioned after the checkpoint's step
   * @throws IOException when the checkpoint cannot be read or the priors cannot be loaded
   */
  public static Trainer resume(Path checkpoint, Properties overrides, Priors priors) throws IOException {
    return resume(checkpoint, overrides, priors, DataParallel.single());
  }

  /**
   * {@link #resume(Path, Properties, Priors)} for one worker of a data-parallel run: every worker reads the same
   * checkpoint (the run's position counts global batches, so a run may continue with a different number of workers).
   *
   * @param checkpoint a {@code last.pth}/{@code best.pth} written by a trainer
   * @param overrides keys to change; may be empty
   * @param priors the frozen networks, or null to load them from the configuration
   * @param dp the process group this worker belongs to
   * @return the trainer, positioned after the checkpoint's step
   * @throws IOException when the checkpoint cannot be read or the priors cannot be loaded
   */
  public static Trainer resume(Path checkpoint, Properties overrides, Priors priors, DataParallel dp)
      throws IOException {
    TrainCheckpoint.Loaded ld = TrainCheckpoint.read(checkpoint);
    Resumed r = resumed(checkpoint, ld, overrides);
    Trainer t = new Trainer(r.cfg(), priors != null ? priors : Priors.load(r.cfg()), dp);
    t.restore(ld);
    if (r.moved()) t.resumedFrom = r.storedRunDir();
    if (forkTarget(checkpoint, overrides) != null) t.forkedFrom = checkpointDir(checkpoint);
    return t;
  }

  /**
   * The configuration a resume would run with, checked as {@link #resume} checks it (for the {@code --nproc}
   * launcher, which checks a run once before it starts its workers, instead of each worker failing on its own).
   *
   * @param checkpoint a training checkpoint
   * @param overrides keys to change; may be empty
   * @return the configuration
   * @throws IOException when the checkpoint cannot be read
   */
  public static TrainConfig resumedConfig(Path checkpoint, Properties overrides) throws IOException {
    return resumed(checkpoint, TrainCheckpoint.read(checkpoint), overrides).cfg();
  }

  private record Resumed(TrainConfig cfg, boolean moved, Path storedRunDir) {}

  /**
   * Where a resume writes when that is not the checkpoint's own folder: a {@code run.dir} override naming another
   * folder forks the run there. {@link #run()} then first removes that folder's earlier run outputs (as a new run
   * does), starts its {@code metrics.jsonl} from the checkpoint folder's, cut at the checkpoint's step, and copies
   * the checkpoint folder's {@code model_best.pth} and {@code best.pth} when they hold the checkpoint's best (their
   * recorded step is its best step), whose score the fork has to beat; the CLI refuses a fork into a folder that
   * holds a run ({@link #earlierRunOutputs}) without {@code --overwrite}.
   *
   * @param checkpoint the checkpoint resumed from
   * @param overrides the resume's overrides (may be null)
   * @return the other folder, or null when the run continues in the checkpoint's folder
   */
  public static Path forkTarget(Path checkpoint, Properties overrides) {
    String dir = overrides == null ? null : overrides.getProperty("run.dir");
    if (dir == null || dir.isBlank()) return null;
    Path target = Path.of(dir.trim());
    return RealPaths.same(target, checkpointDir(checkpoint)) ? null : target;
  }

  private static Path checkpointDir(Path checkpoint) {
    return checkpoint.toAbsolutePath().normalize().getParent();
  }

  private static Resumed resumed(Path checkpoint, TrainCheckpoint.Loaded ld, Properties overrides) {
    if (!FORMAT.equals(ld.meta().getProperty("state.format"))) {
      throw new IllegalArgumentException(checkpoint + " is not a DeepSPG training checkpoint (state.format="
          + ld.meta().getProperty("state.format") + "); weights-only files cannot be resumed");
    }
    TrainConfig stored = TrainConfig.fromStored(ld.meta());
    Properties over = new Properties();
    if (overrides != null) over.putAll(overrides);
    // A copied or moved run continues where its checkpoint is, not in the folder it was started in (whose files it
    // would overwrite); run.dir=... on the command line still decides.
    Path here = checkpointDir(checkpoint);
    boolean moved = !over.containsKey("run.dir") && here != null && !RealPaths.same(here, stored.runDir());
    if (moved) over.setProperty("run.dir", here.toString());
    TrainConfig cfg = stored.with(over);
    if (!cfg.model().equals(stored.model())) { // the checkpoint's weights fit only its own network
      throw new IllegalArgumentException("the network cannot change on resume (stored " + stored.model().describe()
          + ", given " + cfg.model().describe() + "): leave the model.* keys as they were, or start a new run");
    }
    long at = Long.parseLong(ld.meta().getProperty("state.step"));
    if (cfg.steps().maxSteps() > 0 && cfg.steps().maxSteps() <= at) {
      throw new IllegalArgumentException("max_steps=" + cfg.steps().maxSteps() + " is not past the checkpoint's step "
          + at + ": nothing to train; give a larger max_steps (or 0 for the whole schedule)");
    }
    int epoch = Integer.parseInt(ld.meta().getProperty("state.epoch"));
    int last = cfg.schedule().lastEpoch();
    // After the last epoch the loop would do nothing and only write the weights again: said, unless model_final.pth
    // is missing (a run stopped between its last checkpoint and that export gets it now).
    if (epoch > last && Files.exists(cfg.runDir().resolve("model_final.pth"))) {
      throw new IllegalArgumentException("epochs=" + last + " is not past the checkpoint, which completed epoch "
          + (epoch - 1) + " (step " + at + "): nothing to train; give a larger epochs (the learning-rate schedule then"
          + " spans the longer run)");
    }
    checkMidEpoch(checkpoint, ld.meta(), stored, cfg);
    return new Resumed(cfg, moved, stored.runDir());
  }

  /**
   * A run.dir inside a dataset would put the run's files (plots, samples) among its images, where the next open of
   * the dataset finds partnerless images: refused.
   */
  private static void checkOutsideData(Path runDir, TrainConfig.DataSource ds) {
    if (ds == null) return;
    Path run = RealPaths.of(runDir);
    for (Path data : new Path[] {ds.root(), ds.low(), ds.high()}) {
      if (data != null && run.startsWith(RealPaths.of(data))) {
        throw new IllegalArgumentException("run.dir " + runDir + " lies inside the dataset " + ds.key() + " ("
            + data + "): the run's plots and samples would land among its images; pick a run.dir outside it");
      }
    }
  }

  /**
   * The workers of a data-parallel run must train with the same settings (a different seed, learning rate or batch
   * on one of them silently makes their weights drift apart) and the same number of pairs: compared by a hash of
   * the keys that shape the training, summed over the workers. Keys that may differ per host (paths, threads,
   * run.dir, loader and output settings that only rank 0 uses) are left out.
   */
  private void checkWorkersAgree(int pairs) {
    if (!dp.distributed()) return;
    Properties p = cfg.toProperties();
    StringBuilder sb = new StringBuilder("pairs=").append(pairs);
    new java.util.TreeMap<>(p).forEach((k, v) -> {
      if (!HOST_LOCAL_KEYS.contains((String) k)) sb.append('\n').append(k).append('=').append(v);
    });
    long h = fnv64(sb.toString());
    double[] mine = {(double) (h >>> 32), (double) (h & 0xffffffffL)};
    double[] all = dp.sum(mine);
    for (int i = 0; i < mine.length; i++) {
      if (all[i] != mine[i] * dp.world()) {
        throw new IllegalArgumentException("the workers of this data-parallel run differ in their training settings "
            + "or number of training pairs (this is rank " + dp.rank() + ", " + pairs + " pairs): start every worker"
            + " with the same configuration and data (compare `deepspg train ... --print-config` on each host)");
      }
    }
  }

  /** Keys that may differ between the workers of one run. */
  private static final java.util.Set<String> HOST_LOCAL_KEYS = java.util.Set.of("run.dir", "threads", "prior.weights",
      "hrnet.weights", "hrnet.config", "clip.weights", "clip.config", "clip.tokenizer", "data.train",
      "data.train.layout", "data.train.low", "data.train.high", "data.val", "data.val.layout", "data.val.low",
      "data.val.high", "data.workers", "data.prefetch", "data.cache_mb", "val.max_images", "sample.count", "plots");

  private static long fnv64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xff)) * 0x100000001b3L;
    return h;
  }

  /**
   * A checkpoint written in the middle of an epoch continues that epoch by skipping the batches it consumed, which
   * only lands on the pairs not yet seen with the same batch size and the same order (drawn from the seed): refused
   * when an override changes either for that epoch (pairs would be trained on twice or never).
   */
  private static void checkMidEpoch(Path checkpoint, Properties meta, TrainConfig stored, TrainConfig cfg) {
    int epoch = Integer.parseInt(meta.getProperty("state.epoch"));
    int done = Integer.parseInt(meta.getProperty("state.batch_in_epoch"));
    if (done == 0 || epoch > stored.schedule().lastEpoch() || epoch > cfg.schedule().lastEpoch()) return;
    String stopped = checkpoint + " stopped after batch " + done + " of epoch " + epoch;
    String instead = " from a checkpoint written at an epoch's end";
    int was = stored.schedule().stageOf(epoch).batch(), now = cfg.schedule().stageOf(epoch).batch();
    if (was != now) {
      throw new IllegalArgumentException(stopped + ", whose batches have " + was + " pairs; that epoch cannot "
          + "continue with batches of " + now + ": resume without changing the batch size, or change it" + instead);
    }
    if (stored.seed() != cfg.seed()) {
      throw new IllegalArgumentException(stopped + ", whose order of pairs comes from seed " + stored.seed() + "; that"
          + " epoch cannot continue with seed " + cfg.seed() + " (pairs would be trained on twice or never): resume "
          + "without changing the seed, or change it" + instead);
    }
  }

  private void restore(TrainCheckpoint.Loaded ld) {
    Properties m = ld.meta();
    try (PointerScope s = new PointerScope()) {
      ModuleLoader.load(model, ld.model(), LoadOptions.defaults().strictUnknown(true));
      adam.load(TrainCheckpoint.tensors(ld.optim()), Long.parseLong(m.getProperty("state.adam_step")));
    }
    step = Long.parseLong(m.getProperty("state.step"));
    epoch = Integer.parseInt(m.getProperty("state.epoch"));
    batchInEpoch = Integer.parseInt(m.getProperty("state.batch_in_epoch"));
    bestPsnr = Double.parseDouble(m.getProperty("state.best_psnr", "NaN"));
    bestStep = Long.parseLong(m.getProperty("state.best_step", "-1"));
    checkpointPairs = Integer.parseInt(m.getProperty("state.train_pairs", "-1"));
    resumed = true;
  }

  /** @param out where progress and messages go (default System.err; workers other than rank 0 print nothing) */
  public void setConsole(PrintStream out) {
    this.console = dp.isLeader() ? out : new PrintStream(java.io.OutputStream.nullOutputStream());
  }

  /** @return the configuration */
  public TrainConfig config() {
    return cfg;
  }

  /** @return the network being trained */
  public DeepSPG model() {
    return model;
  }

  /** @return the optimiser */
  public Adam optimizer() {
    return adam;
  }

  /** @return the losses */
  public Losses losses() {
    return losses;
  }

  /** @return global steps done */
  public long globalStep() {
    return step;
  }

  // ------------------------------------------------------------------------------------------------------------
  // One step

  /**
   * One optimisation step on a batch (call inside a {@link PointerScope}). Does not advance the run position: use
   * {@link #run()} for training; this is the unit the loop repeats.
   *
   * @param low X_in {@code [B, 3, P, P]} on the configured device
   * @param high X_gt {@code [B, 3, P, P]}
   * @param lr learning rate
   * @param termGradNorms also compute the per-term gradient norms w.r.t. X_out
   * @return losses and norms
   * @throws TrainingDivergedException when the loss or the gradient norm is not finite (no update is made)
   */
  public StepStats trainStep(Tensor low, Tensor high, double lr, boolean termGradNorms) {
    if (!trainingMode) {
      model.train(true);
      trainingMode = true;
    }
    adam.zeroGrad();
    Tensor out = forward(low);
    Losses.Terms t = losses.compute(out, high);
    double[] v = t.values();
    if (dp.distributed()) { // the mean over the workers: what one process with the whole batch would see
      v = dp.sum(v);
      for (int i = 0; i < v.length; i++) v[i] /= dp.world();
    }
    if (!Double.isFinite(v[Losses.TOTAL])) throw diverged(step + 1, "the loss is not finite (" + lossTerms(v) + ")");
    double[] gn = termGradNorms ? losses.gradNorms(t, out) : null;
    t.total().backward();
    dp.averageGradients(paramVec);
    double clip = cfg.optimizer().gradClip();
    double norm = clip > 0 ? torch.clip_grad_norm_(paramVec, clip, 2.0, false) : gradNorm();
    if (!Double.isFinite(norm)) throw diverged(step + 1, "the gradient norm is not finite (" + lossTerms(v) + ")");
    adam.step(lr);
    return new StepStats(v, norm, gn, lr, (int) low.size(0) * dp.world(), (int) low.size(2));
  }

  /** The enabled loss terms' values, for messages. */
  private String lossTerms(double[] v) {
    Losses.Weights w = cfg.lossWeights();
    double[] on = {w.pix(), w.edge(), w.sem(), w.mul(), w.color()};
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < on.length; i++) {
      if (on[i] > 0) sb.append(sb.length() == 0 ? "" : ", ").append(Losses.NAMES.get(i)).append(' ').append(v[i]);
    }
    return sb.toString();
  }

  /** What diverged at which step (the one being taken, or the update just made), and what to change. */
  private TrainingDivergedException diverged(long atStep, String what) {
    return new TrainingDivergedException(String.format(Locale.ROOT, "training diverged at step %d: %s; lower lr "
        + "(now %g)%s or the loss weights, then resume from the last checkpoint (written before this step, if any)",
        atStep, what, cfg.optimizer().lr(), cfg.optimizer().gradClip() > 0 ? "" : ", set grad_clip"));
  }

  /**
   * Before a checkpoint or exported weights are written: the network's output on a fixed dark probe must be finite.
   * An update can blow the weights up (finite but huge) without its own loss showing it; such weights were written
   * over the last good last.pth, and every resume from them failed at once.
   */
  private void requireHealthy() {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor probe = OneDnn.fixedRandom(new long[] {1, 3, 64, 64}, 7).abs().mul(new org.bytedeco.pytorch.Scalar(0.3));
      Tensor out = forward(probe.to(device, torch.ScalarType.Float));
      if (!torch.isfinite(out).all().item_bool()) {
        throw diverged(step, "the network's output became non-finite after the update (its weights blew up)");
      }
    }
  }

  /** The one pipeline (pad → frozen prior → network → crop; patches are multiples of 32, so nothing is padded). */
  private Tensor forward(Tensor low) {
    return pipeline.forward(low);
  }

  private double gradNorm() {
    double s = 0;
    try (PointerScope sc = new PointerScope()) {
      for (long i = 0; i < paramVec.size(); i++) {
        Tensor g = paramVec.get(i).grad();
        if (g != null && g.defined()) s += g.pow(new org.bytedeco.pytorch.Scalar(2.0)).sum().item_double();
      }
    }
    return Math.sqrt(s);
  }

  // ------------------------------------------------------------------------------------------------------------
  // The loop

  private boolean configWritten;

  /** Writes run.dir/config.properties, the resolved settings of this run. */
  private void writeConfig() throws IOException {
    AtomicFile.write(cfg.runDir().resolve("config.properties"),
        o -> o.write(cfg.toText().getBytes(StandardCharsets.UTF_8)));
    configWritten = true;
  }

  /** {@link #writeConfig} before a resumed run's first checkpoint (a new run wrote it at its start). */
  private void writeConfigOnce() throws IOException {
    if (!configWritten) writeConfig();
  }

  /** What a run writes into its run.dir besides config.properties (which every run rewrites) and sample grids. */
  private static final List<String> RUN_OUTPUTS = java.util.stream.Stream.concat(
      java.util.stream.Stream.of("last.pth", "best.pth", "model_best.pth", "model_final.pth", "metrics.jsonl",
          "metrics.csv"), Plots.TRAINING_PLOTS.stream()).toList();

  /**
   * The outputs of a run that a folder holds: what a new run (or a fork, {@link #forkTarget}) into it would remove.
   *
   * @param dir a run folder (may not exist)
   * @return the names found ({@code last.pth}, {@code metrics.jsonl}, ..., {@code samples/step_*.png (N)}); empty
   *     when none
   * @throws IllegalArgumentException when {@code dir} is a file
   * @throws IOException when the samples folder cannot be listed
   */
  public static List<String> earlierRunOutputs(Path dir) throws IOException {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IllegalArgumentException("run.dir " + dir + " is a file, not a folder: give run.dir a folder (new or "
          + "holding a run) for the run's checkpoints, logs and plots");
    }
    List<String> found = new ArrayList<>();
    for (String name : RUN_OUTPUTS) if (Files.exists(dir.resolve(name))) found.add(name);
    int grids = sampleGrids(dir).size();
    if (grids > 0) found.add("samples/step_*.png (" + grids + ")");
    return found;
  }

  private static List<Path> sampleGrids(Path dir) throws IOException {
    Path samples = dir.resolve("samples");
    if (!Files.isDirectory(samples)) return List.of();
    List<Path> grids = new ArrayList<>();
    try (var files = Files.newDirectoryStream(samples, "step_*.png")) {
      for (Path f : files) grids.add(f);
    }
    return grids;
  }

  /**
   * A new run (or a fork) in a folder that holds an earlier one's outputs (the CLI's {@code --overwrite}) removes
   * them first, so that no {@code model_best.pth}, log line or sample of the earlier run is taken for this one's.
   * Only the names a run writes are removed; other files in the folder stay.
   */
  private static void clearEarlierRun(Path dir) throws IOException {
    for (String name : RUN_OUTPUTS) Files.deleteIfExists(dir.resolve(name));
    for (Path f : sampleGrids(dir)) Files.deleteIfExists(f);
  }

  /**
   * A fork starts its log with the history of the run it continues: the checkpoint folder's {@code metrics.jsonl}
   * (cut at the checkpoint's step when the log is opened), when there is one.
   */
  private static boolean copyHistory(Path from, Path dir) throws IOException {
    Path log = from.resolve("metrics.jsonl");
    if (!Files.isRegularFile(log)) return false;
    copyInto(log, dir);
    return true;
  }

  /** Copies a file into a folder under its own name, atomically. */
  private static void copyInto(Path file, Path dir) throws IOException {
    AtomicFile.write(dir.resolve(file.getFileName().toString()), o -> Files.copy(file, o));
  }

  /**
   * A fork keeps the checkpoint's best validation score as the one to beat; it also starts with the files of that
   * best, {@code model_best.pth} and {@code best.pth}, copied from the checkpoint's folder where they are the
   * checkpoint's best: their recorded step is its best step (a best that run found after the checkpoint was written
   * is not the fork's, and a file that cannot be read is left where it is).
   *
   * @return the names copied
   */
  private List<String> copyBest(Path from, Path dir) throws IOException {
    List<String> copied = new ArrayList<>();
    if (bestStep < 0) return copied;
    for (String name : List.of("model_best.pth", "best.pth")) {
      Path f = from.resolve(name);
      String step;
      try {
        step = Files.isRegularFile(f) ? ModelFiles.readMeta(f).getProperty("state.step") : null;
      } catch (IOException unreadable) {
        step = null;
      }
      if (!Long.toString(bestStep).equals(step)) continue;
      copyInto(f, dir);
      copied.add(name);
    }
    return copied;
  }

  /**
   * Trains until all epochs are done or {@code max_steps} is reached, validating, logging and checkpointing on
   * the way; then exports {@code model_final.pth}. A run that is not resumed, or a resumed one that forks into
   * another run.dir ({@link #forkTarget}), first removes an earlier run's outputs from run.dir (checkpoints, exported
   * weights, metrics logs, plots, sample grids; other files stay). Every run removes the temporary files of those
   * outputs that a killed run left ({@code .last.pth.deepspg-*.tmp}, ...), as it holds run.dir's lock.
   *
   * @return the outcome
   * @throws IOException on data or output failures
   * @throws IllegalArgumentException when another run holds run.dir, run.dir lies inside a dataset, or the workers of
   *     a data-parallel run differ in their settings
   * @throws TrainingDivergedException when a loss, gradient norm or output becomes non-finite (no checkpoint is
   *     written from the diverged weights)
   */
  public Result run() throws IOException {
    // The data first: a missing or empty dataset is reported before anything is created on disk.
    PairedDataset.Options dopt = PairedDataset.Options.DEFAULT.withCache(cfg.data().cacheMb() << 20);
    // Training crops patches of at least 32 px: a smaller pair is refused here, with the others' problems, not when
    // its batch comes up (hours in, and after --overwrite had cleared the earlier run).
    PairedDataset train = openDataset(cfg.data().train(), new PairedDataset.Options(true,
        dopt.read().withMinSide(PairAugment.MULTIPLE), dopt.cacheBytes()));
    if (train == null) throw new IllegalArgumentException("config key 'data.train' (the training dataset root) is not set");
    boolean leader = dp.isLeader();
    PairedDataset val = leader ? openValidation(train, dopt) : null; // rank 0 validates
    Path dir = cfg.runDir();
    int pairs = train.size();
    checkBatchesSplit(cfg, pairs, dp.world());
    checkOutsideData(dir, cfg.data().train());
    checkOutsideData(dir, cfg.data().val());
    checkWorkersAgree(pairs);
    if (leader) earlierRunOutputs(dir); // a file there is refused by name, not by createDirectories' exception
    try (RunDirLock lock = leader ? RunDirLock.acquire(dir) : null) {
      return train(train, val, pairs);
    }
  }

  /**
   * Says when the data make batches or patches smaller than configured, which metrics.jsonl shows and the console did
   * not: a batch larger than the training set is the whole set, and a batch holding a pair smaller than the patch
   * crops the largest multiple of 32 that fits it (spec §4.6).
   */
  private void noteShrunkBatchesAndPatches(CoarseToFine sched, PairedDataset train, int pairs) {
    int batch = 0, patch = 0;
    for (CoarseToFine.Stage s : sched.stages()) {
      batch = Math.max(batch, s.batch());
      patch = Math.max(patch, s.patch());
    }
    if (batch > pairs) {
      console.printf(Locale.ROOT, "note: batch %d is more than the %d training pairs: batches of %d%n", batch, pairs,
          pairs);
    }
    PairedDataset.Smallest s = train.smallest(); // read when the dataset's headers were validated
    if (s != null && s.side() < patch) {
      console.printf(Locale.ROOT, "note: %s is %d px on its short side: batches holding it crop patches of %d instead "
          + "of %d (the largest multiple of 32 that fits)%n", s.file(), s.side(),
          PairAugment.effectivePatch(patch, s.side(), s.side()), patch);
    }
  }

  /** {@link #run()} once the data opened and run.dir is this run's. */
  private Result train(PairedDataset train, PairedDataset val, int pairs) throws IOException {
    boolean leader = dp.isLeader();
    Path dir = cfg.runDir();
    CoarseToFine sched = cfg.schedule();
    boolean history = false; // a fork's log starts with the checkpoint folder's
    List<String> best = List.of(); // and its best weights are the checkpoint's best
    if (leader) {
      // The lock is ours: temporary files of our outputs are a killed run's (AtomicFile removes them only when old).
      for (String name : RUN_OUTPUTS) AtomicFile.removeAbandoned(dir, name);
      AtomicFile.removeAbandoned(dir, "config.properties");
      if (!resumed || forkedFrom != null) clearEarlierRun(dir);
      history = forkedFrom != null && copyHistory(forkedFrom, dir);
      if (forkedFrom != null) best = copyBest(forkedFrom, dir);
      Files.createDirectories(dir.resolve("samples"));
      // A resumed run's settings replace the folder's with its first checkpoint: a resume whose overrides fail
      // (a learning rate that diverges) leaves config.properties describing the checkpoints that are there.
      if (!resumed || forkedFrom != null) writeConfig();
    }
    dp.broadcast(paramVec); // rank 0's weights for all: they agree already (same seed, same checkpoint); now surely
    long total = 0;
    for (CoarseToFine.Stage s : sched.stages()) total += (long) s.epochs() * (pairs / Math.min(s.batch(), pairs));
    LrSchedule lrs = new LrSchedule(cfg.optimizer().lr(), cfg.optimizer().lrMin(), total,
        cfg.optimizer().warmupSteps());
    long maxSteps = cfg.steps().maxSteps();
    long stopAt = maxSteps > 0 ? Math.min(total, maxSteps) : total;
    long logEvery = cfg.output().logEverySteps(), gnSteps = cfg.output().gradNormSteps();
    long valSteps = cfg.validation().everySteps(), ckptSteps = cfg.output().checkpointEverySteps();
    int valEpochs = cfg.validation().everyEpochs();
    console.printf(Locale.ROOT, "deepspg train: %s, variant %s, %s; %d training pairs, %s validation; %d epochs, %d steps"
        + " in total%s; run dir %s%n", model.config().describe(), ConfigValues.text(cfg.variant()), describeLosses(),
        pairs, val == null ? "no" : val.size() + " pairs of", sched.lastEpoch(), total,
        stopAt < total ? " (stopping at max_steps=" + stopAt + ")" : "", dir);
    if (resumed) console.printf(Locale.ROOT, "resuming at step %d (epoch %d, batch %d)%n", step, epoch, batchInEpoch);
    if (resumedFrom != null) {
      console.printf(Locale.ROOT, "note: continuing in %s, the checkpoint's folder; the run was started in %s "
          + "(give run.dir=... to choose)%n", dir, resumedFrom);
    }
    if (forkedFrom != null) {
      console.printf(Locale.ROOT, "note: forking the run of %s into %s; metrics.jsonl starts with %s%n", forkedFrom,
          dir, history ? "its history up to step " + step : "step " + (step + 1) + " (the checkpoint's folder has no"
              + " metrics.jsonl)");
      if (bestStep >= 0) {
        List<String> files = new ArrayList<>();
        if (!best.isEmpty()) files.add(String.join(" and ", best) + " copied from " + forkedFrom);
        if (!best.contains("model_best.pth")) {
          files.add(forkedFrom + " has no model_best.pth of that step: this run writes one when it beats it");
        }
        console.printf(Locale.ROOT, "note: the best to beat is the checkpoint's, val PSNR %.3f dB at step %d; %s%n",
            bestPsnr, bestStep, String.join("; ", files));
      }
    }
    noteShrunkBatchesAndPatches(sched, train, pairs);
    if (cfg.optimizer().warmupSteps() >= stopAt) {
      console.printf(Locale.ROOT, "note: lr.warmup_steps=%d is not shorter than the run (%d steps): the learning rate "
          + "never reaches lr=%g%n", cfg.optimizer().warmupSteps(), stopAt, cfg.optimizer().lr());
    }
    if (resumed && checkpointPairs > 0 && checkpointPairs != pairs) {
      console.printf(Locale.ROOT, "warning: the training set has %d pairs, the checkpoint's run had %d: the epochs' "
          + "batches and the learning-rate schedule (%d steps in total) follow the new count, so this is not an exact "
          + "continuation%n", pairs, checkpointPairs, total);
    }
    if (dp.distributed()) {
      console.printf(Locale.ROOT, "data-parallel: %d workers (%s), %d pairs of each global batch per worker%n",
          dp.world(), dp.backend(), Math.min(sched.stageOf(epoch).batch(), pairs) / dp.world());
    }

    double lastPsnr = Double.NaN;
    try (MetricsLog metrics = leader ? new MetricsLog(dir.resolve("metrics.jsonl"), resumed ? step : -1) : null;
        PairLoader loader = new PairLoader(train, new PairAugment(cfg.data().flips(), cfg.data().rotations()),
            cfg.seed(), cfg.data().workers(), cfg.data().prefetch())) {
      Csv csv = leader ? new Csv(dir.resolve("metrics.csv"), metrics) : null;
      ProgressBar bar = new ProgressBar(console, "train", stopAt, step, 10.0); // plain lines in logs
      long lastSaved = resumed ? step : -1;
      long tLog = System.nanoTime(), stepsAtLog = step, imagesSinceLog = 0;
      double commAtLog = dp.commSeconds();
      while (step < stopAt && epoch <= sched.lastEpoch()) {
        CoarseToFine.Stage st = sched.stageOf(epoch);
        int b = Math.min(st.batch(), pairs), nb = pairs / b, thisEpoch = epoch;
        Iterator<PairLoader.BatchData> it = loader.epochArrays(thisEpoch, st.patch(), b, true, dp.rank(), dp.world());
        if (batchInEpoch >= nb) { // resumed mid-epoch on a training set with fewer batches per epoch than it had
          throw new IllegalArgumentException("the checkpoint stopped after batch " + batchInEpoch + " of epoch "
              + epoch + ", but " + pairs + " training pairs in batches of " + b + " make only " + nb + " per epoch:"
              + " resume with the run's training data (data.train)");
        }
        for (int i = 0; i < batchInEpoch; i++) it.next(); // resume mid-epoch: skip the consumed batches
        while (epoch == thisEpoch && step < stopAt) {
          PairLoader.BatchData data = it.next();
          boolean wantGn = step < gnSteps;
          StepStats s;
          try (PointerScope scope = new PointerScope()) {
            Tensor[] tt = data.toTensors();
            Tensor low = tt[0].to(device, torch.ScalarType.Float), high = tt[1].to(device, torch.ScalarType.Float);
            s = trainStep(low, high, lrs.at(step), wantGn);
          }
          step++;
          batchInEpoch++;
          imagesSinceLog += s.batch();
          boolean epochEnd = batchInEpoch >= nb;
          if (epochEnd) {
            epoch++;
            batchInEpoch = 0;
          }
          if (leader && (step % logEvery == 0 || wantGn || step == stopAt)) {
            double secs = (System.nanoTime() - tLog) / 1e9;
            Map<String, Double> rec = trainRecord(s, thisEpoch, (step - stepsAtLog) / secs, imagesSinceLog / secs);
            if (dp.distributed()) rec.put("comm_ms", (dp.commSeconds() - commAtLog) * 1e3 / (step - stepsAtLog));
            metrics.log("train", rec);
            csv.append(rec);
            commAtLog = dp.commSeconds();
            tLog = System.nanoTime();
            stepsAtLog = step;
            imagesSinceLog = 0;
          }
          bar.step(1, progressInfo(s, thisEpoch));
          boolean doVal = val != null && ((epochEnd && valEpochs > 0 && thisEpoch % valEpochs == 0)
              || (valSteps > 0 && step % valSteps == 0) || step == stopAt);
          if (doVal) lastPsnr = validate(val, metrics, thisEpoch);
          if (leader && (doVal || (ckptSteps > 0 && step % ckptSteps == 0) || step == stopAt)) {
            if (!doVal) requireHealthy(); // validation has just checked its outputs
            writeConfigOnce();
            TrainCheckpoint.save(dir.resolve("last.pth"), model, adam, meta(pairs));
            lastSaved = step;
          }
        }
      }
      bar.finish();
      if (leader) requireHealthy();
      if (leader && lastSaved != step) {
        writeConfigOnce();
        TrainCheckpoint.save(dir.resolve("last.pth"), model, adam, meta(pairs));
      }
      if (leader && cfg.output().plots()) Plots.writeTrainingPlots(metrics, dir);
    }
    Path fin = dir.resolve("model_final.pth");
    if (leader) TrainCheckpoint.exportWeights(fin, model, weightsMeta());
    console.printf(Locale.ROOT, "done: %d steps; %s; weights %s%n", step, bestStep < 0 ? "no validation"
        : String.format(Locale.ROOT, "best val PSNR %.3f dB at step %d", bestPsnr, bestStep), fin);
    return new Result(step, epoch, bestPsnr, bestStep, lastPsnr, dir.resolve("last.pth"), fin);
  }

  private String describeLosses() {
    Losses.Weights w = cfg.lossWeights();
    return String.format(Locale.ROOT, "λ = %g/%g/%g/%g%s, C2F %s", w.pix(), w.edge(), w.sem(), w.mul(),
        w.color() > 0 ? String.format(Locale.ROOT, ", color %g", w.color()) : "", cfg.c2fEnabled() ? "on" : "off");
  }

  private Map<String, Double> trainRecord(StepStats s, int ep, double stepsPerS, double imagesPerS) {
    LinkedHashMap<String, Double> r = new LinkedHashMap<>();
    r.put("step", (double) step);
    r.put("epoch", (double) ep);
    r.put("lr", s.lr());
    r.put("loss", s.losses()[Losses.TOTAL]);
    for (int i = 0; i < Losses.TOTAL; i++) if (!Double.isNaN(s.losses()[i])) r.put("loss_" + Losses.NAMES.get(i), s.losses()[i]);
    r.put("grad_norm", s.gradNorm());
    r.put("patch", (double) s.patch());
    r.put("batch", (double) s.batch());
    r.put("steps_per_s", stepsPerS);
    r.put("images_per_s", imagesPerS);
    if (s.termGradNorms() != null) {
      for (int i = 0; i < Losses.TOTAL; i++) {
        if (!Double.isNaN(s.termGradNorms()[i])) r.put("gn_" + Losses.NAMES.get(i), s.termGradNorms()[i]);
      }
    }
    return r;
  }

  private static String progressInfo(StepStats s, int ep) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "ep %d p%d b%d loss %.4g", ep, s.patch(), s.batch(),
        s.losses()[Losses.TOTAL]));
    for (int i = 0; i < Losses.TOTAL; i++) {
      if (!Double.isNaN(s.losses()[i])) sb.append(String.format(Locale.ROOT, " %s %.3g", Losses.NAMES.get(i), s.losses()[i]));
    }
    return sb.append(String.format(Locale.ROOT, " lr %.2e", s.lr())).toString();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Validation

  /**
   * Validates on full images (spec §6: reflect-pad to 32, forward, crop, clamp; PSNR/SSIM and GT-mean variants),
   * logs a "val" record, keeps the best checkpoint, writes the sample grid and refreshes the plots.
   *
   * @return mean PSNR
   */
  private double validate(PairedDataset val, MetricsLog metrics, int ep) throws IOException {
    long t0 = System.nanoTime();
    int n = val.size();
    int limit = cfg.validation().maxImages();
    if (limit > 0) n = Math.min(n, limit);
    int nSamples = Math.min(n, cfg.validation().sampleCount());
    List<Image[]> samples = new ArrayList<>();
    double[] sum = new double[4];
    model.train(false);
    trainingMode = false;
    try {
      for (int i = 0; i < n; i++) {
        PairedDataset.Loaded l = val.load(i);
        float[] pred;
        try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
          // scored as deepspg eval scores it (EvalRunner): the input as enhance prepares it, what the target shows
          pred = ImageTensors.floatsOf(pipeline.enhance(ImageTensors.toTensor(Enhancer.input(l.low()), device)));
        }
        int h = l.high().height(), w = l.high().width();
        Metrics.Scores sc = EvalRunner.scores(l, pred, EvalRunner.shown(l));
        sum[0] += sc.psnr();
        sum[1] += sc.ssim();
        sum[2] += sc.psnrGtMean();
        sum[3] += sc.ssimGtMean();
        if (i < nSamples) samples.add(new Image[] {l.low(), Image.of(w, h, pred), l.high()});
      }
    } finally {
      model.train(true);
      trainingMode = true;
    }
    double psnr = sum[0] / n;
    LinkedHashMap<String, Double> r = new LinkedHashMap<>();
    r.put("step", (double) step);
    r.put("epoch", (double) ep);
    r.put("psnr", psnr);
    r.put("ssim", sum[1] / n);
    r.put("psnr_gtmean", sum[2] / n);
    r.put("ssim_gtmean", sum[3] / n);
    r.put("images", (double) n);
    r.put("seconds", (System.nanoTime() - t0) / 1e9);
    metrics.log("val", r);
    if (!Double.isFinite(psnr)) { // nothing written from these weights: not best.pth, not last.pth
      throw diverged(step, "the validation outputs are not finite (PSNR " + psnr + ")");
    }
    Path dir = cfg.runDir();
    if (Double.isNaN(bestPsnr) || psnr > bestPsnr) {
      bestPsnr = psnr;
      bestStep = step;
      writeConfigOnce();
      TrainCheckpoint.save(dir.resolve("best.pth"), model, adam, meta(-1));
      TrainCheckpoint.exportWeights(dir.resolve("model_best.pth"), model, weightsMeta());
    }
    if (!samples.isEmpty()) {
      Images.writeAtomic(SampleGrid.compose(samples, 192), dir.resolve("samples")
          .resolve(String.format(Locale.ROOT, "step_%08d.png", step)));
    }
    if (cfg.output().plots()) Plots.writeTrainingPlots(metrics, dir);
    console.printf(Locale.ROOT, "%nval step %d epoch %d: PSNR %.3f dB SSIM %.4f (GT-mean %.3f / %.4f) on %d images, best %.3f"
        + " at step %d%n", step, ep, psnr, sum[1] / n, sum[2] / n, sum[3] / n, n, bestPsnr, bestStep);
    return psnr;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Checkpoint metadata

  private Properties meta(int pairs) {
    Properties p = cfg.toProperties();
    p.setProperty("state.format", FORMAT);
    p.setProperty("state.step", Long.toString(step));
    p.setProperty("state.adam_step", Long.toString(adam.step()));
    p.setProperty("state.epoch", Integer.toString(epoch));
    p.setProperty("state.batch_in_epoch", Integer.toString(batchInEpoch));
    p.setProperty("state.best_psnr", Double.toString(bestPsnr));
    p.setProperty("state.best_step", Long.toString(bestStep));
    if (pairs >= 0) p.setProperty("state.train_pairs", Integer.toString(pairs));
    return p;
  }

  /**
   * Metadata of exported weights: the network configuration ({@link org.deepspg.model.DeepSPGConfig#toProperties})
   * plus {@code hrnet.input_norm}, {@code variant}, {@code format}, {@code state.step} and which prior file the SEMs
   * were trained with ({@link ImagePriors#record}).
   */
  private Properties weightsMeta() {
    Properties p = model.config().toProperties();
    p.setProperty("format", WEIGHTS_FORMAT);
    p.putAll(cfg.weightsMetadata());
    ImagePriors.record(priors.image(), p);
    p.setProperty("state.step", Long.toString(step));
    return p;
  }

  /**
   * Checks that every stage's global batch can be shared evenly by the workers of a data-parallel run.
   *
   * @param cfg the configuration
   * @param pairs training pairs (a batch larger than the dataset is cut to it)
   * @param world number of workers
   * @throws IllegalArgumentException naming the first stage whose batch does not split
   */
  public static void checkBatchesSplit(TrainConfig cfg, int pairs, int world) {
    for (CoarseToFine.Stage s : cfg.schedule().stages()) {
      int b = Math.min(s.batch(), pairs);
      if (b % world != 0) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "the batch of the stage from epoch %d is %d%s, "
            + "which %d workers cannot share evenly: batch sizes are global, make them multiples of %d",
            s.fromEpoch(), b, b < s.batch() ? " (its " + s.batch() + " capped at the " + pairs + " training pairs)"
                : "", world, world));
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Datasets

  /**
   * Opens {@code data.train} (split train) or {@code data.val} (split test) as configured.
   *
   * @param src {@code cfg.data().train()} or {@code cfg.data().val()}
   * @param opt dataset options
   * @return the dataset, or null when the root key is empty (and the layout is not {@code folders})
   * @throws IOException when folders cannot be listed
   */
  public static PairedDataset openDataset(TrainConfig.DataSource src, PairedDataset.Options opt)
      throws IOException {
    String prefix = src.key();
    if (src.folders()) {
      Path low = src.low(), high = src.high();
      if (low == null || high == null) {
        throw new IllegalArgumentException("config keys '" + prefix + ".low' and '" + prefix
            + ".high' are needed with " + prefix + ".layout=folders");
      }
      requireFolder(prefix + ".low", low);
      requireFolder(prefix + ".high", high);
      return PairedDataset.fromFolders(low, high, opt);
    }
    Path root = src.root();
    if (root == null) return null;
    requireFolder(prefix, root);
    DatasetLayouts.Layout found = DatasetLayouts.detect(root);
    DatasetLayouts.Layout want = src.layout() == null ? found : src.layout();
    if (want != found) {
      throw new IllegalArgumentException("config key '" + prefix + ".layout' says " + want + " but " + root
          + " looks like " + found);
    }
    Split split = found == DatasetLayouts.Layout.FLAT ? Split.ALL : src.split();
    return DatasetLayouts.open(root, split, opt);
  }

  /** A dataset folder that is missing is reported with the config key that names it. */
  private static void requireFolder(String key, Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new DatasetException("config key '" + key + "': " + (Files.exists(dir) ? "not a folder: "
          : "no such folder: ") + dir);
    }
  }

  private PairedDataset openValidation(PairedDataset train, PairedDataset.Options opt) throws IOException {
    PairedDataset v = openDataset(cfg.data().val(), opt);
    if (v != null) return v;
    Path root = cfg.data().train().root();
    if (root == null || cfg.data().train().folders()) return null;
    try {
      if (DatasetLayouts.detect(root) == DatasetLayouts.Layout.FLAT) return null;
      return DatasetLayouts.open(root, Split.TEST, opt);
    } catch (DatasetException e) {
      console.println("deepspg train: no validation set (" + e.getMessage() + ")");
      return null;
    }
  }

  @Override
  public void close() {
    // The network and optimiser live as long as the JVM's references; nothing to release eagerly.
  }

  /** Appends train records to a CSV with fixed columns (rewritten from the JSONL log at start, so resume agrees). */
  private static final class Csv {
    private static final String[] COLS = {"step", "epoch", "lr", "loss", "loss_pix", "loss_edge", "loss_sem", "loss_mul",
        "grad_norm", "patch", "batch", "steps_per_s", "images_per_s", "gn_pix", "gn_edge", "gn_sem", "gn_mul",
        "loss_color", "gn_color"}; // columns added later go last, so older readers keep their positions
    private final Path file;

    Csv(Path file, MetricsLog log) throws IOException {
      this.file = file;
      StringBuilder sb = new StringBuilder(String.join(",", COLS)).append('\n');
      for (MetricsLog.Entry e : log.entries()) if (e.kind().equals("train")) sb.append(row(e.values()));
      AtomicFile.write(file, o -> o.write(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    void append(Map<String, Double> rec) throws IOException {
      Files.writeString(file, row(rec), StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
    }

    private static String row(Map<String, Double> v) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < COLS.length; i++) {
        if (i > 0) sb.append(',');
        Double d = v.get(COLS[i]);
        if (d != null && Double.isFinite(d)) sb.append(String.format(Locale.ROOT, "%.8g", d));
      }
      return sb.append('\n').toString();
    }
  }
}
