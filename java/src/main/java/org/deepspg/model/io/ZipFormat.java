/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The zip container of {@code torch.save} (PyTorch &gt;= 1.6) and {@code torch.jit.save}: {@code <root>/data.pkl}
 * (the pickled object; storages as persistent ids {@code ('storage', torch.XStorage, key, location, numel)}) and
 * {@code <root>/data/<key>} (raw little-endian storage bytes, STORED or DEFLATED). The root folder is whatever
 * precedes {@code /data.pkl} (the stem of the file at save time), never assumed.
 */
final class ZipFormat {
  /** The most a DEFLATE stream can expand (1032:1) plus slack: caps allocations for compressed records. */
  private static final long MAX_DEFLATE_RATIO = 1032;

  /** Largest data.pkl accepted: a state dict's pickle is kilobytes, a TorchScript one at most a few MB. */
  static final long MAX_PICKLE_BYTES = 64L << 20;

  private ZipFormat() {}

  /**
   * Bytes all storages of a file may inflate to: PyTorch stores them uncompressed, so a legitimate total is about the
   * file's size; compressed archives get 16x plus 64 MiB.
   */
  static long inflateBudget(long fileSize) {
    return Math.min(Long.MAX_VALUE / 2, fileSize * 16 + (64L << 20));
  }

  static StateDict read(Path file, long fileSize) throws IOException {
    String fname = file.toString();
    ZipFile zf;
    try {
      zf = new ZipFile(file.toFile());
    } catch (IOException e) {
      // ZipException, or a bare EOFException from a central directory that points past the end of the file
      throw new CheckpointFormatException(fname + ": not a readable zip archive (truncated or corrupt?): "
          + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()), e);
    }
    try (zf) {
      String root = findRoot(zf, fname);
      ZipEntry order = zf.getEntry(root + "byteorder");
      if (order != null) {
        String bo = new String(readEntry(zf, order, fname, fileSize), StandardCharsets.US_ASCII).trim();
        if (!bo.equals("little")) {
          throw new CheckpointFormatException(fname + ": byte order '" + bo + "' is not supported (only little)");
        }
      }
      ZipEntry pkl = zf.getEntry(root + "data.pkl");
      String where = fname + "!" + pkl.getName();
      if (pkl.getSize() > MAX_PICKLE_BYTES) {
        throw new CheckpointFormatException(where + ": " + pkl.getSize() + " bytes of pickle (at most "
            + MAX_PICKLE_BYTES + "; checkpoints hold kilobytes)");
      }
      byte[] pickle = readEntry(zf, pkl, fname, fileSize);
      Object obj = new Unpickler(new PickleSource.Array(pickle, where), ZipFormat::storageRef).load();
      Map<String, Py.TensorRef> refs = Flattener.flatten(obj, where);
      Map<String, ByteBuffer> cache = new HashMap<>();
      long[] inflated = {0};
      Materializer.Storages storages = ref -> {
        ByteBuffer b = cache.get(ref.key);
        if (b == null) {
          String rec = root + "data/" + ref.key;
          ZipEntry e = zf.getEntry(rec);
          if (e == null) {
            throw new CheckpointFormatException(fname + ": storage record '" + rec + "' (" + ref + ") is missing");
          }
          // All storages together may not inflate beyond a bound set by the file's size (zip bombs).
          if (e.getSize() > 0 && (inflated[0] += e.getSize()) > inflateBudget(fileSize)) {
            throw new CheckpointFormatException(fname + ": storages declare " + inflated[0] + " bytes in total, more "
                + "than a " + fileSize + "-byte file can hold (" + inflateBudget(fileSize) + ")");
          }
          b = ByteBuffer.wrap(readEntry(zf, e, fname, fileSize)).order(ByteOrder.LITTLE_ENDIAN);
          cache.put(ref.key, b);
        }
        return b;
      };
      return Materializer.build(refs, storages, fname);
    }
  }

  /** The folder that holds data.pkl: the shortest {@code X/data.pkl} (or a bare {@code data.pkl}). */
  private static String findRoot(ZipFile zf, String fname) throws CheckpointFormatException {
    String best = null;
    boolean legacyTorchScript = false;
    Enumeration<? extends ZipEntry> en = zf.entries();
    while (en.hasMoreElements()) {
      String n = en.nextElement().getName();
      if (n.equals("data.pkl") || (n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length())) {
        String r = n.substring(0, n.length() - "data.pkl".length());
        if (best == null || r.length() < best.length()) {
          best = r;
        }
      }
      if (n.endsWith("model.json")) {
        legacyTorchScript = true;
      }
    }
    if (best == null) {
      throw new CheckpointFormatException(fname + ": zip archive has no <root>/data.pkl record"
          + (legacyTorchScript ? " (model.json found: TorchScript format of PyTorch < 1.4 is not supported)"
              : " (not written by torch.save / torch.jit.save)"));
    }
    return best;
  }

  /** Reads one record completely, refusing sizes the file cannot hold and verifying the CRC-32. */
  static byte[] readEntry(ZipFile zf, ZipEntry e, String fname, long fileSize) throws CheckpointFormatException {
    long size = e.getSize();
    long csize = e.getCompressedSize();
    String rec = fname + "!" + e.getName();
    long cap = e.getMethod() == ZipEntry.STORED ? fileSize : Math.max(0, csize) * MAX_DEFLATE_RATIO + 1024;
    if (size < 0 || size > cap || size > Integer.MAX_VALUE - 8) {
      throw new CheckpointFormatException(rec + ": declared size " + size + " bytes is impossible for a "
          + fileSize + "-byte file (corrupt zip directory) or over 2 GiB");
    }
    byte[] out = new byte[(int) size];
    try (InputStream in = zf.getInputStream(e)) {
      int n = in.readNBytes(out, 0, out.length);
      if (n != out.length) {
        throw new CheckpointFormatException(rec + ": truncated record: expected " + size + " bytes, got " + n);
      }
      if (in.read() != -1) {
        throw new CheckpointFormatException(rec + ": record longer than its declared " + size + " bytes");
      }
    } catch (CheckpointFormatException ex) {
      throw ex;
    } catch (IOException ex) {
      throw new CheckpointFormatException(rec + ": cannot read record: " + ex.getMessage(), ex);
    }
    if (e.getCrc() != -1) {
      CRC32 crc = new CRC32();
      crc.update(out);
      if (crc.getValue() != e.getCrc()) {
        throw new CheckpointFormatException(rec + ": CRC-32 mismatch (file corrupt): stored 0x"
            + Long.toHexString(e.getCrc()) + ", computed 0x" + Long.toHexString(crc.getValue()));
      }
    }
    return out;
  }

  /** Persistent ids in zip archives: ('storage', storage_type, key, location, numel). */
  private static Object storageRef(Object pid, String where) throws CheckpointFormatException {
    if (!(pid instanceof List) || ((List<?>) pid).size() != 5 || !"storage".equals(((List<?>) pid).get(0))) {
      throw new CheckpointFormatException(where + ": unsupported persistent id " + describe(pid)
          + " (expected ('storage', type, key, location, numel))");
    }
    List<?> t = (List<?>) pid;
    DType dt = storageDType(t.get(1), where);
    if (!(t.get(2) instanceof String) || !(t.get(4) instanceof Long)) {
      throw new CheckpointFormatException(where + ": malformed storage id " + describe(pid));
    }
    return new Py.StorageRef((String) t.get(2), dt, String.valueOf(t.get(3)), 0, (Long) t.get(4));
  }

  static DType storageDType(Object type, String where) throws CheckpointFormatException {
    if (type instanceof Py.Global && ((Py.Global) type).kind == Py.Kind.STORAGE_CLASS) {
      return ((Py.Global) type).dtype;
    }
    throw new CheckpointFormatException(where + ": storage type must be a torch.*Storage class, got "
        + Unpickler.typeName(type));
  }

  static String describe(Object o) {
    if (!(o instanceof List)) {
      return Unpickler.typeName(o);
    }
    // Bounded rendering: toString() of a DAG of shared tuples is exponential in its depth.
    StringBuilder sb = new StringBuilder();
    render(o, sb, 0);
    return sb.length() > 200 ? sb.substring(0, 200) + "..." : sb.toString();
  }

  private static void render(Object o, StringBuilder sb, int depth) {
    if (sb.length() > 200) {
      return;
    }
    if (!(o instanceof List<?> l)) {
      sb.append(o instanceof String || o instanceof Number || o instanceof Boolean ? String.valueOf(o)
          : Unpickler.typeName(o));
      return;
    }
    if (depth > 8) {
      sb.append("(...)");
      return;
    }
    sb.append('(');
    for (int i = 0; i < l.size() && sb.length() <= 200; i++) {
      if (i > 0) {
        sb.append(", ");
      }
      render(l.get(i), sb, depth + 1);
    }
    sb.append(')');
  }
}
