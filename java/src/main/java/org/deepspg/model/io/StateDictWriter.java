/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Writes tensors in PyTorch's zip serialisation (what {@code torch.save(state_dict)} produces since 1.6), so our
 * checkpoints load with {@code torch.load(f)} (also with {@code weights_only=True}) and with {@link Checkpoints}.
 *
 * <p>Layout: {@code <root>/data.pkl} (protocol-2 pickle of an {@code OrderedDict} of
 * {@code torch._utils._rebuild_tensor_v2(persistent storage, 0, size, stride, False, OrderedDict())}),
 * {@code <root>/data/<i>} (raw little-endian storage bytes, one per tensor), {@code <root>/version} ("3") and
 * {@code <root>/byteorder} ("little"); all entries STORED. Extra named text entries (e.g. a JSON training state) can be
 * added under the root; {@code torch.load} ignores them.
 */
public final class StateDictWriter {
  private final LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
  private final LinkedHashMap<String, byte[]> extras = new LinkedHashMap<>();

  /**
   * Adds a tensor (any device, dtype float32/float64/float16/bfloat16/int64/int32/int16/int8/uint8/bool; it is
   * copied to a contiguous CPU buffer when written).
   *
   * @param name state-dict key
   * @param t the tensor
   * @return this writer
   */
  public StateDictWriter put(String name, Tensor t) {
    if (tensors.containsKey(name)) throw new IllegalArgumentException("duplicate key " + name);
    tensors.put(name, t);
    return this;
  }

  /**
   * Adds all tensors of a map in its iteration order.
   *
   * @param map name to tensor
   * @return this writer
   */
  public StateDictWriter putAll(Map<String, Tensor> map) {
    map.forEach(this::put);
    return this;
  }

  /**
   * Adds an extra entry {@code <root>/<name>} next to the tensors (ignored by PyTorch).
   *
   * @param name file name inside the archive root, e.g. "deepspg.json"
   * @param text UTF-8 content
   * @return this writer
   */
  public StateDictWriter putExtra(String name, String text) {
    if (!name.matches("[A-Za-z0-9_.-]+") || name.equals("data.pkl") || name.equals("version")
        || name.equals("byteorder")) {
      throw new IllegalArgumentException("bad extra entry name: " + name);
    }
    extras.put(name, text.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /**
   * Writes the archive to a stream.
   *
   * @param out destination (not closed)
   * @param root archive root folder name (PyTorch uses the file stem; any name works for loading)
   * @throws IOException on write errors
   */
  public void write(OutputStream out, String root) throws IOException {
    if (!root.matches("[A-Za-z0-9_.-]+")) throw new IllegalArgumentException("bad archive root name: " + root);
    ZipOutputStream zip = new ZipOutputStream(out);
    zip.setLevel(0);
    Pickler p = new Pickler();
    p.proto2();
    p.global("collections", "OrderedDict");
    p.emptyTuple();
    p.reduce();
    p.mark();
    int key = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor t = e.getValue();
      String storage = storageClass(t);
      long[] size = t.sizes().vec().get();
      long[] stride = contiguousStrides(size);
      p.unicode(e.getKey());
      p.global("torch._utils", "_rebuild_tensor_v2");
      p.mark();
      // persistent id ('storage', torch.XStorage, key, 'cpu', numel)
      p.mark();
      p.unicode("storage");
      p.global("torch", storage);
      p.unicode(Integer.toString(key));
      p.unicode("cpu");
      p.integer(t.numel());
      p.tuple();
      p.binpersid();
      p.integer(0);
      p.intTuple(size);
      p.intTuple(stride);
      p.bool(false);
      p.global("collections", "OrderedDict");
      p.emptyTuple();
      p.reduce();
      p.tuple();
      p.reduce();
      key++;
    }
    p.setitems();
    p.stop();
    store(zip, root + "/data.pkl", p.bytes());
    key = 0;
    for (Tensor t : tensors.values()) {
      store(zip, root + "/data/" + key, bytesOf(t));
      key++;
    }
    for (Map.Entry<String, byte[]> e : extras.entrySet()) store(zip, root + "/" + e.getKey(), e.getValue());
    store(zip, root + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    store(zip, root + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
    zip.finish();
  }

  private static void store(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    e.setCompressedSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }

  private static long[] contiguousStrides(long[] size) {
    long[] stride = new long[size.length];
    long s = 1;
    for (int i = size.length - 1; i >= 0; i--) {
      stride[i] = s;
      s *= Math.max(1, size[i]);
    }
    return stride;
  }

  private static String storageClass(Tensor t) {
    switch (t.scalar_type().value) {
      case 6: return "FloatStorage"; // Float
      case 7: return "DoubleStorage";
      case 5: return "HalfStorage";
      case 15: return "BFloat16Storage";
      case 4: return "LongStorage";
      case 3: return "IntStorage";
      case 2: return "ShortStorage";
      case 1: return "CharStorage";
      case 0: return "ByteStorage";
      case 11: return "BoolStorage";
      default:
        throw new IllegalArgumentException("cannot serialise dtype " + t.scalar_type() + " of a tensor");
    }
  }

  private static byte[] bytesOf(Tensor t) {
    try (PointerScope scope = new PointerScope()) {
      Tensor c = t.detach().cpu().contiguous();
      long n = c.nbytes();
      if (n > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("tensor too large for one entry: " + n);
      byte[] b = new byte[(int) n];
      if (n > 0) new BytePointer(c.data_ptr()).capacity(n).get(b);
      return b;
    }
  }

  /** Minimal protocol-2 pickle emitter for the opcodes a state dict needs. */
  private static final class Pickler {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    void proto2() { buf.write(0x80); buf.write(2); }
    void mark() { buf.write('('); }
    void tuple() { buf.write('t'); }
    void emptyTuple() { buf.write(')'); }
    void reduce() { buf.write('R'); }
    void setitems() { buf.write('u'); }
    void stop() { buf.write('.'); }
    void binpersid() { buf.write('Q'); }
    void bool(boolean v) { buf.write(v ? 0x88 : 0x89); }

    void global(String module, String name) {
      buf.write('c');
      buf.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    void unicode(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      buf.write('X');
      le32(b.length);
      buf.writeBytes(b);
    }

    void integer(long v) {
      if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
        buf.write('J');
        le32((int) v);
      } else {
        buf.write(0x8a); // LONG1: little-endian two's complement
        buf.write(8);
        for (int i = 0; i < 8; i++) buf.write((int) (v >>> (8 * i)) & 0xff);
      }
    }

    void intTuple(long[] vs) {
      mark();
      for (long v : vs) integer(v);
      tuple();
    }

    private void le32(int v) {
      for (int i = 0; i < 4; i++) buf.write((v >>> (8 * i)) & 0xff);
    }

    byte[] bytes() { return buf.toByteArray(); }
  }
}
