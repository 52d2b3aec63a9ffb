/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pre-1.6 ("legacy", {@code _use_new_zipfile_serialization=False}) format: five consecutive pickles (magic
 * number, protocol version 1001, sys_info, the object, the list of storage keys), then for each key in that
 * list's order an int64 little-endian element count followed by the raw bytes. Storages appear in the object
 * pickle as persistent ids {@code ('storage', torch[.cuda].XStorage, root_key, location, numel, view_metadata)}.
 */
final class LegacyFormat {
  static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
  static final long PROTOCOL_VERSION = 1001;

  private LegacyFormat() {}

  /** Root storages seen in the object pickle: key -> dtype. */
  private static final class Registry {
    final Map<String, DType> dtypes = new HashMap<>();
    final Map<String, Py.StorageRef> views = new HashMap<>();
  }

  static StateDict read(Path file) throws IOException {
    String fname = file.toString();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      PickleSource.Channel in = new PickleSource.Channel(ch, 0, fname);

      Object magic = new Unpickler(in, LegacyFormat::noPersistent).load();
      if (!(magic instanceof BigInteger) || !magic.equals(MAGIC)) {
        throw new CheckpointFormatException(fname + ": not a PyTorch legacy checkpoint: first pickle is "
            + ZipFormat.describe(magic) + ", expected the magic number 0x" + MAGIC.toString(16));
      }
      Object proto = new Unpickler(in, LegacyFormat::noPersistent).load();
      if (!Long.valueOf(PROTOCOL_VERSION).equals(proto)) {
        throw new CheckpointFormatException(fname + ": unsupported legacy protocol version "
            + ZipFormat.describe(proto) + " (expected " + PROTOCOL_VERSION + ")");
      }
      Object sysInfo = new Unpickler(in, LegacyFormat::noPersistent).load();
      if (sysInfo instanceof Map && Boolean.FALSE.equals(((Map<?, ?>) sysInfo).get("little_endian"))) {
        throw new CheckpointFormatException(fname + ": big-endian checkpoints are not supported");
      }

      Registry reg = new Registry();
      long objStart = in.position();
      Object obj = new Unpickler(in, (pid, where) -> storageRef(pid, where, reg)).load();
      Map<String, Py.TensorRef> refs = Flattener.flatten(obj, fname + " (object pickle at offset " + objStart + ")");

      long keysStart = in.position();
      Object keysObj = new Unpickler(in, LegacyFormat::noPersistent).load();
      if (!(keysObj instanceof List)) {
        throw new CheckpointFormatException(fname + ": storage key list (pickle at offset " + keysStart
            + ") is a " + Unpickler.typeName(keysObj) + ", not a list");
      }
      List<?> keys = (List<?>) keysObj;

      Map<String, ByteBuffer> data = new HashMap<>();
      for (int i = 0; i < keys.size(); i++) {
        Object k = keys.get(i);
        if (!(k instanceof String)) {
          throw new CheckpointFormatException(fname + ": storage key #" + i + " is a " + Unpickler.typeName(k));
        }
        String key = (String) k;
        DType dt = reg.dtypes.get(key);
        if (dt == null) {
          throw new CheckpointFormatException(fname + ": storage key '" + key + "' (#" + i
              + ") is listed but never referenced by the object pickle");
        }
        long at = in.position();
        if (in.remaining() < 8) {
          throw new CheckpointFormatException(fname + ": truncated: storage '" + key + "' (#" + (i + 1) + " of "
              + keys.size() + ") needs an 8-byte element count at offset " + at + " but the file is " + size
              + " bytes");
        }
        long count = ByteBuffer.wrap(in.readBytes(8, "storage count")).order(ByteOrder.LITTLE_ENDIAN).getLong();
        long bytes;
        try {
          bytes = Math.multiplyExact(count, (long) dt.bytes());
        } catch (ArithmeticException e) {
          bytes = -1;
        }
        if (count < 0 || bytes < 0) {
          throw new CheckpointFormatException(fname + ": corrupt element count " + count + " for storage '" + key
              + "' at offset " + at);
        }
        if (bytes > in.remaining()) {
          throw new CheckpointFormatException(fname + ": truncated: storage '" + key + "' (#" + (i + 1) + " of "
              + keys.size() + ", " + count + " x " + dt.torchName() + ") expects " + bytes + " bytes at offset "
              + in.position() + " but only " + in.remaining() + " remain (file is " + size + " bytes)");
        }
        data.put(key, ByteBuffer.wrap(in.readBytes(bytes, "storage '" + key + "'")).order(ByteOrder.LITTLE_ENDIAN));
      }

      Materializer.Storages storages = ref -> {
        ByteBuffer b = data.get(ref.key);
        if (b == null) {
          throw new CheckpointFormatException(fname + ": " + ref + " is referenced but missing from the storage list");
        }
        return b;
      };
      return Materializer.build(refs, storages, fname);
    }
  }

  private static Object noPersistent(Object pid, String where) throws CheckpointFormatException {
    throw new CheckpointFormatException(where + ": unexpected persistent id in a header pickle");
  }

  /** ('storage', storage_type, root_key, location, numel, view_metadata); view = (view_key, offset, size). */
  private static Object storageRef(Object pid, String where, Registry reg) throws CheckpointFormatException {
    if (!(pid instanceof List) || ((List<?>) pid).isEmpty()) {
      throw new CheckpointFormatException(where + ": unsupported persistent id " + ZipFormat.describe(pid));
    }
    List<?> t = (List<?>) pid;
    if ("module".equals(t.get(0))) {
      throw new CheckpointFormatException(where + ": the file pickles a whole nn.Module (torch.save(model)); "
          + "only tensors / state dicts are supported");
    }
    if (t.size() != 6 || !"storage".equals(t.get(0)) || !(t.get(2) instanceof String) || !(t.get(4) instanceof Long)) {
      throw new CheckpointFormatException(where + ": malformed storage id " + ZipFormat.describe(pid)
          + " (expected ('storage', type, key, location, numel, view_metadata))");
    }
    DType dt = ZipFormat.storageDType(t.get(1), where);
    String key = (String) t.get(2);
    String location = String.valueOf(t.get(3));
    long numel = (Long) t.get(4);
    DType prev = reg.dtypes.putIfAbsent(key, dt);
    if (prev != null && prev != dt) {
      throw new CheckpointFormatException(where + ": storage '" + key + "' used as both " + prev + " and " + dt);
    }
    Object view = t.get(5);
    if (view == null) {
      return new Py.StorageRef(key, dt, location, 0, numel);
    }
    if (!(view instanceof List) || ((List<?>) view).size() != 3) {
      throw new CheckpointFormatException(where + ": malformed storage view metadata " + ZipFormat.describe(view));
    }
    List<?> v = (List<?>) view;
    if (!(v.get(1) instanceof Long) || !(v.get(2) instanceof Long)) {
      throw new CheckpointFormatException(where + ": malformed storage view metadata " + ZipFormat.describe(view));
    }
    String viewKey = String.valueOf(v.get(0));
    Py.StorageRef existing = reg.views.get(viewKey);
    if (existing != null) {
      return existing; // torch reuses the first view created under a key
    }
    Py.StorageRef r = new Py.StorageRef(key, dt, location, (Long) v.get(1), (Long) v.get(2));
    reg.views.put(viewKey, r);
    return r;
  }
}
