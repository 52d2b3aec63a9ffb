/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.io.AtomicFile;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.io.StateDict;
import org.deepspg.model.io.StateDictWriter;
import org.deepspg.model.io.TensorData;

/**
 * A training checkpoint: one PyTorch-format zip state dict ({@link StateDictWriter}) holding the model
 * ({@code model.<name>}: parameters and buffers), the optimiser state ({@code optim.<name>}) and a properties entry
 * {@code deepspg.properties} with the schedule position, RNG seeds, best metric and the full run configuration.
 * {@code torch.load} in Python reads the tensors of the same file. Written atomically ({@link AtomicFile}).
 */
public final class TrainCheckpoint {
  /** Name of the properties entry inside the archive. */
  public static final String META_ENTRY = ModelFiles.META_ENTRY;
  /** Key prefix of the model tensors. */
  public static final String MODEL_PREFIX = ModelFiles.MODEL_PREFIX;
  /** Key prefix of the optimiser tensors. */
  public static final String OPTIM_PREFIX = "optim.";

  private TrainCheckpoint() {}

  /**
   * The named parameters and buffers of a module, parameters first, in registration order (each an own handle
   * sharing the module's storage; attached to the caller's scope if one is open).
   *
   * @param m module
   * @return name to tensor
   */
  public static Map<String, Tensor> tensorsOf(Module m) {
    LinkedHashMap<String, Tensor> r = new LinkedHashMap<>();
    for (StringTensorDict d : new StringTensorDict[] {m.named_parameters(true), m.named_buffers(true)}) {
      // Own handles: value() points into the dict, which may be freed once it is unreachable.
      for (long i = 0; i < d.size(); i++) r.put(d.get(i).key().getString(), new Tensor(d.get(i).value()));
    }
    return r;
  }

  /**
   * Saves atomically.
   *
   * @param file destination
   * @param model the network
   * @param optim optimiser (null for a weights-only file)
   * @param meta schedule position, seeds, configuration (stored as given)
   * @throws IOException on write failure (the previous file at that path is left intact)
   */
  public static void save(Path file, Module model, Adam optim, Properties meta) throws IOException {
    StateDictWriter w = new StateDictWriter();
    tensorsOf(model).forEach((k, t) -> w.put(MODEL_PREFIX + k, t));
    if (optim != null) optim.state().forEach((k, t) -> w.put(OPTIM_PREFIX + k, t));
    StringWriter sw = new StringWriter();
    meta.store(sw, "DeepSPG-Java training state");
    w.putExtra(META_ENTRY, sw.toString());
    String stem = file.getFileName().toString().replaceAll("\\.[^.]*$", "").replaceAll("[^A-Za-z0-9_.-]", "_");
    AtomicFile.write(file, out -> w.write(out, stem.isEmpty() ? "archive" : stem));
  }

  /**
   * Saves only the model weights as a plain state dict (no prefix), with the configuration as metadata: the format
   * the Enhancer and {@code torch.load} + {@code load_state_dict} read directly.
   *
   * @param file destination
   * @param model the network
   * @param meta configuration
   * @throws IOException on write failure
   */
  public static void exportWeights(Path file, Module model, Properties meta) throws IOException {
    StateDictWriter w = new StateDictWriter();
    w.putAll(tensorsOf(model));
    StringWriter sw = new StringWriter();
    meta.store(sw, "DeepSPG-Java model");
    w.putExtra(META_ENTRY, sw.toString());
    String stem = file.getFileName().toString().replaceAll("\\.[^.]*$", "").replaceAll("[^A-Za-z0-9_.-]", "_");
    AtomicFile.write(file, out -> w.write(out, stem.isEmpty() ? "archive" : stem));
  }

  /** What {@link #read} returns. */
  public record Loaded(StateDict model, StateDict optim, Properties meta) {}

  /**
   * Reads a checkpoint written by {@link #save} (or a weights file written by {@link #exportWeights}, or any
   * PyTorch state dict: then {@code optim} is empty and {@code meta} holds what the file had, possibly nothing).
   *
   * @param file checkpoint path
   * @return model tensors (prefix removed), optimiser tensors (prefix removed) and metadata
   * @throws IOException when the file is missing, truncated or corrupt
   */
  public static Loaded read(Path file) throws IOException {
    ModelFiles.Archive a = ModelFiles.read(file);
    StateDict optim = a.tensors().filter(n -> n.startsWith(OPTIM_PREFIX)).stripPrefix(OPTIM_PREFIX);
    return new Loaded(a.model(), optim, a.meta());
  }

  /**
   * Optimiser tensors of a loaded checkpoint as libtorch tensors, for {@link Adam#load}.
   *
   * @param optim the {@code optim} part of {@link #read}
   * @return name to float tensor
   */
  public static Map<String, Tensor> tensors(StateDict optim) {
    LinkedHashMap<String, Tensor> r = new LinkedHashMap<>();
    for (TensorData t : optim) r.put(t.name(), t.toTensor());
    return r;
  }
}
