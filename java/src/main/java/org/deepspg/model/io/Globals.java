/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.util.Map;
import java.util.Set;

/**
 * The allowlist of pickle globals (the equivalent of a restricted {@code Unpickler.find_class}). Every global
 * maps to a Java data constructor; a name not listed here is refused the moment the GLOBAL / STACK_GLOBAL /
 * INST opcode names it, whether or not it would be called.
 */
final class Globals {
  private Globals() {}

  /** Known tensor rebuild functions we deliberately do not support (refused with a clearer message). */
  private static final Set<String> UNSUPPORTED_TORCH_UTILS = Set.of(
      "_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_sparse_csr_tensor", "_rebuild_nested_tensor",
      "_rebuild_tensor_v3", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
      "_rebuild_device_tensor_from_numpy", "_rebuild_xla_tensor", "_rebuild_mlc_tensor",
      "_rebuild_device_tensor_from_cpu_tensor");

  private static final Map<String, Py.Kind> TORCH_UTILS = Map.of(
      "_rebuild_tensor", Py.Kind.REBUILD_TENSOR,
      "_rebuild_tensor_v2", Py.Kind.REBUILD_TENSOR_V2,
      "_rebuild_parameter", Py.Kind.REBUILD_PARAMETER,
      "_rebuild_parameter_with_state", Py.Kind.REBUILD_PARAMETER_WITH_STATE);

  private static final Set<String> JIT_LIST_BUILDERS = Set.of(
      "build_intlist", "build_doublelist", "build_boollist", "build_tensorlist", "build_genericlist");

  /**
   * @param module the pickled module name, e.g. {@code "torch._utils"}
   * @param name the attribute, e.g. {@code "_rebuild_tensor_v2"}
   * @param where file/record and offset for the message
   * @return the resolved global
   * @throws CheckpointFormatException when the global is not allowlisted
   */
  static Py.Global resolve(String module, String name, String where) throws CheckpointFormatException {
    Py.Kind kind = null;
    DType dtype = null;
    switch (module) {
      case "collections":
        if (name.equals("OrderedDict")) {
          kind = Py.Kind.ORDERED_DICT;
        }
        break;
      case "torch._utils":
        kind = TORCH_UTILS.get(name);
        if (kind == null && UNSUPPORTED_TORCH_UTILS.contains(name)) {
          throw new CheckpointFormatException(where + ": unsupported tensor kind torch._utils." + name
              + " (only dense tensors with typed storages are supported)");
        }
        break;
      case "torch":
      case "torch.cuda":
        dtype = DType.fromStorageClass(name);
        if (dtype != null) {
          kind = Py.Kind.STORAGE_CLASS;
        } else if (module.equals("torch")) {
          if (name.equals("device")) {
            kind = Py.Kind.TORCH_DEVICE;
          } else if (name.equals("Size")) {
            kind = Py.Kind.TORCH_SIZE;
          } else {
            dtype = DType.fromTorchName(name);
            if (dtype != null) {
              kind = Py.Kind.TORCH_DTYPE;
            }
          }
        }
        if (kind == null && name.endsWith("Storage")) {
          throw new CheckpointFormatException(where + ": unsupported storage class " + module + "." + name);
        }
        break;
      case "builtins":
      case "__builtin__":
        if (name.equals("set")) {
          kind = Py.Kind.SET;
        } else if (name.equals("frozenset")) {
          kind = Py.Kind.FROZENSET;
        }
        break;
      case "_codecs":
        if (name.equals("encode")) {
          kind = Py.Kind.CODECS_ENCODE;
        }
        break;
      case "torch.jit._pickle":
        if (JIT_LIST_BUILDERS.contains(name)) {
          kind = Py.Kind.JIT_BUILD_LIST;
        } else if (name.equals("restore_type_tag")) {
          kind = Py.Kind.JIT_RESTORE_TYPE_TAG;
        }
        break;
      default:
        // TorchScript archives name their module classes "__torch__.<path>" (possibly mangled); they are
        // rebuilt as plain attribute holders and never executed.
        if ((module.equals("__torch__") || module.startsWith("__torch__.")) && isIdentifierPath(name)) {
          kind = Py.Kind.TORCHSCRIPT_CLASS;
        }
        break;
    }
    if (kind == null) {
      throw new CheckpointFormatException(where + ": refusing global " + module + "." + name
          + " (a checkpoint may not run code)");
    }
    return new Py.Global(module, name, kind, dtype);
  }

  private static boolean isIdentifierPath(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(Character.isLetterOrDigit(c) || c == '_' || c == '.')) {
        return false;
      }
    }
    return true;
  }
}
