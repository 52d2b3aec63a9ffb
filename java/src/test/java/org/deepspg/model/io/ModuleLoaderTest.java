/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** ModuleLoader on a small module tree: conv1 (3->4, 3x3), block.conv2 (4->2, 1x1), block.bn (BatchNorm2d(2)). */
class ModuleLoaderTest {
  /** Module-side names and shapes (parameters, then buffers). */
  private static final Map<String, long[]> SHAPES = new LinkedHashMap<>();

  static {
    SHAPES.put("conv1.weight", new long[] {4, 3, 3, 3});
    SHAPES.put("conv1.bias", new long[] {4});
    SHAPES.put("block.conv2.weight", new long[] {2, 4, 1, 1});
    SHAPES.put("block.conv2.bias", new long[] {2});
    SHAPES.put("block.bn.weight", new long[] {2});
    SHAPES.put("block.bn.bias", new long[] {2});
    SHAPES.put("block.bn.running_mean", new long[] {2});
    SHAPES.put("block.bn.running_var", new long[] {2});
    SHAPES.put("block.bn.num_batches_tracked", new long[] {});
  }

  private PointerScope scope;
  private Module root;

  @BeforeEach
  void build() {
    scope = new PointerScope();
    root = new Module();
    root.register_module("conv1", new Conv2dImpl(new Conv2dOptions(3, 4, new LongPointer(3L, 3L))));
    Module block = new Module();
    block.register_module("conv2", new Conv2dImpl(new Conv2dOptions(4, 2, new LongPointer(1L, 1L))));
    block.register_module("bn", new BatchNorm2dImpl(new BatchNormOptions(2)));
    root.register_module("block", block);
  }

  @AfterEach
  void release() {
    scope.close();
  }

  /** Deterministic distinct values: element i of tensor k = k + i / 1000 (exact in fp16 only when noted). */
  private static TensorData tensor(String name, long[] shape, int k, DType dtype) {
    int n = (int) TensorData.numel(shape);
    ByteBuffer b = ByteBuffer.allocate(n * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      double v = k + i / 1024.0; // multiples of 2^-10 below 16: exact in fp16, fp32 and fp64
      switch (dtype) {
        case FLOAT32: b.putFloat((float) v); break;
        case FLOAT64: b.putDouble(v); break;
        case FLOAT16: b.putShort(floatToHalfExact((float) v)); break;
        case INT64: b.putLong(k); break;
        default: throw new AssertionError(dtype);
      }
    }
    b.flip();
    return TensorData.of(name, dtype, shape, b);
  }

  /** Only for values exactly representable in fp16 (checked by converting back). */
  private static short floatToHalfExact(float f) {
    for (int h = 0; h < 0x7c00; h++) {
      if (TensorData.halfToFloat((short) h) == f) {
        return (short) h;
      }
    }
    throw new AssertionError(f + " is not an fp16 value");
  }

  private static StateDict fullDict(String prefix) {
    List<TensorData> l = new ArrayList<>();
    int k = 1;
    for (Map.Entry<String, long[]> e : SHAPES.entrySet()) {
      DType dt = e.getKey().endsWith("num_batches_tracked") ? DType.INT64 : DType.FLOAT32;
      l.add(tensor(prefix + e.getKey(), e.getValue(), k++, dt));
    }
    return StateDict.of(l);
  }

  private Map<String, float[]> moduleValues() {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (StringTensorDict d : new StringTensorDict[] {root.named_parameters(true), root.named_buffers(true)}) {
      for (long i = 0; i < d.size(); i++) {
        String n = d.get(i).key().getString();
        out.put(n, TensorData.fromTensor(n, d.get(i).value()).toFloatArray());
      }
    }
    return out;
  }

  @Test
  void moduleHasTheExpectedNames() {
    assertEquals(List.copyOf(SHAPES.keySet()), List.copyOf(moduleValues().keySet()));
  }

  @Test
  void loadsWithPrefixAndDropsUnknown() {
    List<TensorData> l = new ArrayList<>();
    fullDict("model.").forEach(l::add);
    l.add(tensor("loss.criterion.weight", new long[] {7}, 50, DType.FLOAT32));
    StateDict sd = StateDict.of(l);

    List<LogRecord> logged = new ArrayList<>();
    Handler h = new Handler() {
      @Override
      public void publish(LogRecord r) {
        logged.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger log = Logger.getLogger(ModuleLoader.class.getName());
    log.addHandler(h);
    LoadReport r;
    try {
      r = ModuleLoader.load(root, sd, new LoadOptions().stripPrefix("model."));
    } finally {
      log.removeHandler(h);
    }
    assertEquals(List.copyOf(SHAPES.keySet()), r.loaded());
    assertEquals(List.of("loss.criterion.weight"), r.unknownDropped());
    assertEquals(List.of(), r.ignored());
    assertTrue(logged.stream().anyMatch(x -> x.getLevel() == Level.WARNING
        && x.getMessage().contains("loss.criterion.weight")), "warning names the dropped key");

    Map<String, float[]> got = moduleValues();
    for (TensorData t : sd.stripPrefix("model.")) {
      if (SHAPES.containsKey(t.name())) {
        assertArrayEquals(t.toFloatArray(), got.get(t.name()), t.name());
      }
    }
  }

  @Test
  void convertsHalfAndDoubleToTheModuleDtype() {
    List<TensorData> l = new ArrayList<>();
    for (TensorData t : fullDict("")) {
      if (t.name().equals("conv1.weight")) {
        l.add(tensor(t.name(), t.shape(), 1, DType.FLOAT16));
      } else if (t.name().equals("block.bn.running_var")) {
        l.add(tensor(t.name(), t.shape(), 8, DType.FLOAT64));
      } else {
        l.add(t);
      }
    }
    StateDict sd = StateDict.of(l);
    ModuleLoader.load(root, sd, LoadOptions.defaults());
    Map<String, float[]> got = moduleValues();
    assertArrayEquals(sd.get("conv1.weight").toFloatArray(), got.get("conv1.weight"));
    assertArrayEquals(sd.get("block.bn.running_var").toFloatArray(), got.get("block.bn.running_var"));
    assertEquals(0.5f + 0.5f, got.get("conv1.weight")[0], "fp16 1.0 arrives as fp32 1.0");
  }

  @Test
  void missingNamesAreAllListedAndModuleIsUnchanged() {
    Map<String, float[]> before = moduleValues();
    StateDict sd = fullDict("").filter(n -> !n.equals("conv1.bias") && !n.equals("block.bn.running_mean"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModuleLoader.load(root, sd, LoadOptions.defaults()));
    assertTrue(e.getMessage().contains("2 missing"), e.getMessage());
    assertTrue(e.getMessage().contains("conv1.bias") && e.getMessage().contains("block.bn.running_mean"),
        e.getMessage());
    Map<String, float[]> after = moduleValues();
    for (String n : before.keySet()) {
      assertArrayEquals(before.get(n), after.get(n), "unchanged after a failed load: " + n);
    }
  }

  @Test
  void shapeMismatchesAreAllListedWithExpectedAndFound() {
    List<TensorData> l = new ArrayList<>();
    for (TensorData t : fullDict("")) {
      if (t.name().equals("conv1.weight")) {
        l.add(tensor(t.name(), new long[] {4, 3, 1, 1}, 1, DType.FLOAT32));
      } else if (t.name().equals("block.bn.weight")) {
        l.add(tensor(t.name(), new long[] {3}, 1, DType.FLOAT32));
      } else if (!t.name().equals("block.conv2.bias")) {
        l.add(t);
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModuleLoader.load(root, StateDict.of(l), LoadOptions.defaults()));
    String m = e.getMessage();
    assertTrue(m.contains("conv1.weight: expected [4, 3, 3, 3], found [4, 3, 1, 1]"), m);
    assertTrue(m.contains("block.bn.weight: expected [2], found [3]"), m);
    assertTrue(m.contains("missing from the checkpoint: block.conv2.bias"), "missing reported together: " + m);
  }

  @Test
  void ignoredNamesNeitherLoadNorFail() {
    StateDict sd = fullDict("").filter(n -> !n.endsWith("num_batches_tracked"));
    assertThrows(IllegalArgumentException.class, () -> ModuleLoader.load(root, sd, LoadOptions.defaults()));
    LoadReport r = ModuleLoader.load(root, sd, new LoadOptions().ignore(LoadOptions.NUM_BATCHES_TRACKED));
    assertEquals(List.of("block.bn.num_batches_tracked"), r.ignored());
    assertEquals(8, r.loaded().size());
    assertArrayEquals(new float[] {0f}, moduleValues().get("block.bn.num_batches_tracked"), "left at its init");
  }

  @Test
  void strictUnknownAndDtypeKindMismatch() {
    List<TensorData> l = new ArrayList<>();
    fullDict("").forEach(l::add);
    l.add(tensor("extra.weight", new long[] {1}, 1, DType.FLOAT32));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModuleLoader.load(root, StateDict.of(l), new LoadOptions().strictUnknown(true)));
    assertTrue(e.getMessage().contains("unknown to the module: extra.weight"), e.getMessage());

    List<TensorData> l2 = new ArrayList<>();
    for (TensorData t : fullDict("")) {
      l2.add(t.name().endsWith("num_batches_tracked") ? tensor(t.name(), t.shape(), 3, DType.FLOAT32) : t);
    }
    e = assertThrows(IllegalArgumentException.class,
        () -> ModuleLoader.load(root, StateDict.of(l2), LoadOptions.defaults()));
    assertTrue(e.getMessage().contains("block.bn.num_batches_tracked: expected dtype INT64, found FLOAT32"),
        e.getMessage());
  }
}
