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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand-built checkpoints with the features the fixtures do not have: strided and offset views, shared
 * storages, fp16/bf16/int64 storages, parameters, nested dicts, DEFLATED storages, a zip root that is not the
 * file stem, legacy storage views and Python-2 string keys.
 */
class SyntheticCheckpointTest {
  // fp16 bit patterns and their exact float values: 1, -2.5, 65504 (max), 2^-24 (smallest subnormal), -0.
  private static final int[] HALF_BITS = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x8000};
  private static final float[] HALF_VALUES = {1f, -2.5f, 65504f, 0x1p-24f, -0f};
  // bf16 = upper half of a float32: 1.0 and -3.0 (0x40400000 -> 0xc040).
  private static final int[] BF16_BITS = {0x3f80, 0xc040};
  private static final float[] BF16_VALUES = {1f, -3f};

  private static float[] range(int from, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = from + i;
    }
    return v;
  }

  /** The object pickle: an OrderedDict of tensors over storages "0".."4". */
  private static byte[] objectPickle(boolean legacy, boolean py2Keys) {
    PickleWriter w = new PickleWriter().proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark();
    java.util.function.Consumer<String> key = k -> {
      if (py2Keys) {
        w.pyStr(k);
      } else {
        w.str(k);
      }
    };
    key.accept("w");
    w.tensor("torch.FloatStorage", "0", 6, 0, new long[] {2, 3}, new long[] {3, 1}, legacy, null);
    key.accept("wt"); // transposed view of the same storage
    w.tensor("torch.FloatStorage", "0", 6, 0, new long[] {3, 2}, new long[] {1, 3}, legacy, null);
    key.accept("off"); // storage offset 4, then every second element
    w.tensor("torch.cuda.FloatStorage", "1", 10, 4, new long[] {3}, new long[] {2}, legacy, null);
    key.accept("h");
    w.tensor("torch.HalfStorage", "2", 5, 0, new long[] {5}, new long[] {1}, legacy, null);
    key.accept("bf");
    w.tensor("torch.BFloat16Storage", "3", 2, 0, new long[] {2, 1}, new long[] {1, 7}, legacy, null);
    key.accept("p"); // nn.Parameter wrapper
    w.global("torch._utils", "_rebuild_parameter");
    w.mark();
    w.tensor("torch.LongStorage", "4", 1, 0, new long[] {}, new long[] {}, legacy, null);
    w.bool(true).global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
    key.accept("nested");
    w.emptyDict().str("inner");
    w.tensor("torch.FloatStorage", "1", 10, 0, new long[] {2}, new long[] {1}, legacy, null);
    w.setitem();
    key.accept("epoch");
    w.integer(7);
    return w.setitems().stop().bytes();
  }

  private static final List<String> KEYS = List.of("0", "1", "2", "3", "4");

  private static List<byte[]> storages() {
    return List.of(PickleWriter.f32(range(0, 6)), PickleWriter.f32(range(10, 10)), PickleWriter.i16(HALF_BITS),
        PickleWriter.i16(BF16_BITS), PickleWriter.i64(42));
  }

  private static void checkContent(StateDict sd) {
    assertEquals(List.of("w", "wt", "off", "h", "bf", "p", "nested.inner"), List.copyOf(sd.names()));
    assertArrayEquals(new long[] {2, 3}, sd.get("w").shape());
    assertArrayEquals(range(0, 6), sd.get("w").toFloatArray());
    assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, sd.get("wt").toFloatArray(), "transposed copy");
    assertEquals(DType.FLOAT32, sd.get("off").dtype(), "torch.cuda.FloatStorage maps like torch.FloatStorage");
    assertArrayEquals(new float[] {14, 16, 18}, sd.get("off").toFloatArray());
    assertEquals(DType.FLOAT16, sd.get("h").dtype());
    assertArrayEquals(HALF_VALUES, sd.get("h").toFloatArray());
    assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(sd.get("h").toFloatArray()[4]));
    assertEquals(DType.BFLOAT16, sd.get("bf").dtype());
    assertArrayEquals(BF16_VALUES, sd.get("bf").toFloatArray());
    assertEquals(DType.INT64, sd.get("p").dtype());
    assertArrayEquals(new long[] {}, sd.get("p").shape());
    assertEquals(1, sd.get("p").numel());
    assertEquals(42L, sd.get("p").data().getLong(0));
    assertArrayEquals(new float[] {10, 11}, sd.get("nested.inner").toFloatArray());
    assertEquals(6 * 4, sd.get("wt").data().remaining(), "data() is exactly numel * bytes");
    assertEquals(ByteOrder.LITTLE_ENDIAN, sd.get("w").data().order());
    assertTrue(sd.get("w").data().isReadOnly());
  }

  @Test
  void zipStoredAndDeflatedWithForeignRoot(@TempDir Path dir) throws Exception {
    for (boolean deflate : new boolean[] {false, true}) {
      Path f = dir.resolve("renamed_" + deflate + ".pth");
      PickleWriter.writeZip(f, "original_stem", objectPickle(false, false), KEYS, storages(), deflate);
      checkContent(Checkpoints.read(f));
    }
  }

  @Test
  void legacyWithPython2Keys(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("legacy.pth");
    Files.write(f, PickleWriter.legacy(objectPickle(true, true), KEYS, storages(), List.of(4, 4, 2, 2, 8)));
    checkContent(Checkpoints.read(f));
  }

  @Test
  void legacyStorageViews(@TempDir Path dir) throws Exception {
    // Pre-1.0 files could pickle storage views: ('storage', type, root, loc, numel, (view_key, offset, size)).
    PickleWriter w = new PickleWriter().proto(2).emptyDict().mark().str("v");
    w.tensor("torch.FloatStorage", "9", 8, 1, new long[] {2}, new long[] {1}, true, new long[] {5, 3});
    w.str("whole");
    w.tensor("torch.FloatStorage", "9", 8, 0, new long[] {8}, new long[] {1}, true, null);
    byte[] obj = w.setitems().stop().bytes();
    Path f = dir.resolve("views.pth");
    Files.write(f, PickleWriter.legacy(obj, List.of("9"), List.of(PickleWriter.f32(range(0, 8))), List.of(4)));
    StateDict sd = Checkpoints.read(f);
    assertArrayEquals(new float[] {6, 7}, sd.get("v").toFloatArray(), "view starts at 5, tensor offset 1");
    assertArrayEquals(range(0, 8), sd.get("whole").toFloatArray());
  }

  @Test
  void tensorBeyondItsStorageIsRejected(@TempDir Path dir) throws Exception {
    PickleWriter w = new PickleWriter().proto(2).emptyDict().str("x");
    w.tensor("torch.FloatStorage", "0", 4, 2, new long[] {3}, new long[] {1}, false, null);
    byte[] obj = w.setitem().stop().bytes();
    Path f = dir.resolve("oob.pth");
    PickleWriter.writeZip(f, "oob", obj, List.of("0"), List.of(PickleWriter.f32(1, 2, 3, 4)), false);
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoints.read(f));
    assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains("reaches element 4"), e.getMessage());
    // Declared numel fine, but the record is shorter than the view.
    PickleWriter w2 = new PickleWriter().proto(2).emptyDict().str("x");
    w2.tensor("torch.FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1}, false, null);
    PickleWriter.writeZip(f, "oob", w2.setitem().stop().bytes(), List.of("0"), List.of(PickleWriter.f32(1, 2)), false);
    e = assertThrows(CheckpointFormatException.class, () -> Checkpoints.read(f));
    assertTrue(e.getMessage().contains("holds only 8 bytes"), e.getMessage());
  }

  @Test
  void toTensorKeepsDtypeAndToFloatTensorConverts() {
    ByteBuffer hb = ByteBuffer.wrap(PickleWriter.i16(HALF_BITS));
    TensorData h = TensorData.of("h", DType.FLOAT16, new long[] {5}, hb);
    ByteBuffer lb = ByteBuffer.wrap(PickleWriter.i64(-3, 1L << 40));
    TensorData l = TensorData.of("l", DType.INT64, new long[] {2, 1}, lb);
    try (PointerScope scope = new PointerScope()) {
      Tensor th = h.toTensor();
      assertEquals(ScalarType.Half.value, th.scalar_type().value);
      assertEquals(5, th.size(0));
      Tensor tf = h.toFloatTensor();
      assertEquals(ScalarType.Float.value, tf.scalar_type().value);
      for (int i = 0; i < HALF_VALUES.length; i++) {
        assertEquals(HALF_VALUES[i], tf.get(i).item_float(), 0f);
      }
      Tensor tl = l.toTensor();
      assertEquals(ScalarType.Long.value, tl.scalar_type().value);
      assertEquals(2, tl.dim());
      assertEquals(-3L, tl.get(0).get(0).item_long());
      assertEquals(1L << 40, tl.get(1).get(0).item_long());
      // Round trip through fromTensor of a non-contiguous view.
      TensorData back = TensorData.fromTensor("t", tf.reshape(5, 1).t());
      assertArrayEquals(new long[] {1, 5}, back.shape());
      assertArrayEquals(HALF_VALUES, back.toFloatArray());
    }
  }
}
