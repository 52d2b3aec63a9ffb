/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.StringTensorDictItem;
import org.bytedeco.pytorch.Tensor;

/**
 * Copies a {@link StateDict} into a bytedeco {@link Module}'s {@code named_parameters()} and
 * {@code named_buffers()} (recursive names such as {@code "stage2.0.branches.1.0.conv1.weight"}), like
 * PyTorch's {@code load_state_dict} with explicit rules for prefixes, unknown and ignorable names. Everything
 * is validated before the first copy, so on an exception the module is unchanged.
 */
public final class ModuleLoader {
  private static final Logger LOG = Logger.getLogger(ModuleLoader.class.getName());

  private ModuleLoader() {}

  /**
   * @param module target; its tensors keep their dtype and device (fp16/fp64/... checkpoint values are
   *     converted by the copy)
   * @param sd checkpoint tensors
   * @param options prefix to strip, ignored names, strictness for unknown names
   * @return which names were loaded, dropped and ignored
   * @throws IllegalArgumentException listing ALL missing names and ALL shape (or dtype-kind) mismatches as
   *     {@code name: expected [..], found [..]}, and, with {@code strictUnknown(true)}, all unknown names
   */
  public static LoadReport load(Module module, StateDict sd, LoadOptions options) {
    if (options == null) {
      options = LoadOptions.defaults();
    }
    // Checkpoint names after prefix stripping (keeping the original entries).
    Map<String, TensorData> ckpt = new LinkedHashMap<>();
    String prefix = options.prefix();
    for (TensorData t : sd) {
      String n = !prefix.isEmpty() && t.name().startsWith(prefix) ? t.name().substring(prefix.length()) : t.name();
      if (ckpt.put(n, t) != null) {
        throw new IllegalArgumentException("stripping prefix '" + prefix + "' makes checkpoint name '" + n
            + "' appear twice");
      }
    }
    try (PointerScope scope = new PointerScope()) {
      Map<String, Tensor> targets = new LinkedHashMap<>();
      collect(module.named_parameters(true), targets);
      collect(module.named_buffers(true), targets);

      List<String> loaded = new ArrayList<>();
      List<String> missing = new ArrayList<>();
      List<String> mismatched = new ArrayList<>();
      Set<String> ignored = new LinkedHashSet<>();
      List<String> unknown = new ArrayList<>();
      for (Map.Entry<String, Tensor> e : targets.entrySet()) {
        String name = e.getKey();
        if (options.ignorePredicate().test(name)) {
          ignored.add(name);
          continue;
        }
        TensorData src = ckpt.get(name);
        if (src == null) {
          missing.add(name);
          continue;
        }
        Tensor dst = e.getValue();
        long[] expected = shapeOf(dst);
        if (!Arrays.equals(expected, src.shape())) {
          mismatched.add(name + ": expected " + Arrays.toString(expected) + ", found "
              + Arrays.toString(src.shape()) + " (" + src.name() + ")");
          continue;
        }
        DType dstType = DType.fromScalarType(dst.scalar_type());
        boolean dstFloat = dst.is_floating_point();
        if (dstType == null || dstFloat != src.dtype().isFloatingPoint()) {
          mismatched.add(name + ": expected dtype " + (dstType == null ? dst.scalar_type() : dstType)
              + ", found " + src.dtype() + " (" + src.name() + ")");
          continue;
        }
        loaded.add(name);
      }
      for (String n : ckpt.keySet()) {
        if (!targets.containsKey(n)) {
          if (options.ignorePredicate().test(n)) {
            ignored.add(n);
          } else {
            unknown.add(n);
          }
        }
      }
      List<String> problems = new ArrayList<>();
      if (!missing.isEmpty()) {
        problems.add(missing.size() + " missing from the checkpoint: " + String.join(", ", missing));
      }
      if (!mismatched.isEmpty()) {
        problems.add(mismatched.size() + " mismatched: " + String.join("; ", mismatched));
      }
      if (options.isStrictUnknown() && !unknown.isEmpty()) {
        problems.add(unknown.size() + " unknown to the module: " + String.join(", ", unknown));
      }
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException("cannot load state dict into " + module.getClass().getSimpleName()
            + (prefix.isEmpty() ? "" : " (prefix '" + prefix + "' stripped)") + ": " + String.join(" | ", problems));
      }
      if (!unknown.isEmpty()) {
        LOG.warning("dropping " + unknown.size() + " checkpoint tensor(s) the module does not have: "
            + String.join(", ", unknown));
      }
      try (NoGradGuard g = new NoGradGuard()) {
        for (String name : loaded) {
          Tensor src = ckpt.get(name).toTensor();
          targets.get(name).copy_(src);
          src.close();
        }
      }
      return new LoadReport(loaded, unknown, new ArrayList<>(ignored));
    }
  }

  private static void collect(StringTensorDict dict, Map<String, Tensor> out) {
    long n = dict.size();
    for (long i = 0; i < n; i++) {
      StringTensorDictItem item = dict.get(i);
      out.put(item.key().getString(), item.value());
    }
  }

  private static long[] shapeOf(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.size(i);
    }
    return s;
  }
}
