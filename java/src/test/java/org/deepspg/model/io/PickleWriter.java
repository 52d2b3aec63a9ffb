/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Test helper: emits pickle opcodes by hand, and writes zip / legacy checkpoint containers around them. */
final class PickleWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  PickleWriter op(int opcode) {
    out.write(opcode);
    return this;
  }

  PickleWriter raw(byte[] b) {
    out.writeBytes(b);
    return this;
  }

  PickleWriter proto(int p) {
    return op(0x80).op(p);
  }

  PickleWriter mark() {
    return op('(');
  }

  PickleWriter tuple() {
    return op('t');
  }

  PickleWriter emptyTuple() {
    return op(')');
  }

  PickleWriter emptyDict() {
    return op('}');
  }

  PickleWriter emptyList() {
    return op(']');
  }

  PickleWriter setitems() {
    return op('u');
  }

  PickleWriter setitem() {
    return op('s');
  }

  PickleWriter appends() {
    return op('e');
  }

  PickleWriter reduce() {
    return op('R');
  }

  PickleWriter build() {
    return op('b');
  }

  PickleWriter none() {
    return op('N');
  }

  PickleWriter bool(boolean b) {
    return op(b ? 0x88 : 0x89);
  }

  PickleWriter stop() {
    return op('.');
  }

  PickleWriter binpersid() {
    return op('Q');
  }

  PickleWriter binput(int i) {
    return op('q').op(i);
  }

  PickleWriter binget(int i) {
    return op('h').op(i);
  }

  PickleWriter global(String module, String name) {
    op('c');
    raw((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    return this;
  }

  PickleWriter stackGlobal(String module, String name) {
    return str(module).str(name).op(0x93);
  }

  /** BININT (4-byte signed). */
  PickleWriter integer(long v) {
    if (v >= 0 && v < 256) {
      return op('K').op((int) v);
    }
    op('J');
    return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
  }

  /** LONG1 little-endian two's complement. */
  PickleWriter long1(BigInteger v) {
    byte[] be = v.toByteArray();
    op(0x8a).op(be.length);
    for (int i = be.length - 1; i >= 0; i--) {
      out.write(be[i]);
    }
    return this;
  }

  /** BINUNICODE. */
  PickleWriter str(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    op('X');
    raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
    return raw(b);
  }

  /** SHORT_BINSTRING (Python 2 str). */
  PickleWriter pyStr(String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    return op('U').op(b.length).raw(b);
  }

  PickleWriter ints(long... v) {
    mark();
    for (long x : v) {
      integer(x);
    }
    return tuple();
  }

  /**
   * {@code _rebuild_tensor_v2(pid(storage...), offset, size, stride, False, OrderedDict())}; the pid has
   * {@code view} appended when non-null (legacy format: 6 elements; null writes None).
   */
  PickleWriter tensor(String storageClass, String key, long storageNumel, long offset, long[] size, long[] stride,
      boolean legacy, long[] view) {
    global("torch._utils", "_rebuild_tensor_v2");
    mark();
    mark().str("storage");
    int dot = storageClass.lastIndexOf('.');
    global(storageClass.substring(0, dot), storageClass.substring(dot + 1));
    str(key).str("cpu").integer(storageNumel);
    if (legacy) {
      if (view == null) {
        none();
      } else {
        str(key + "_view").integer(view[0]).integer(view[1]).op(0x87); // TUPLE3
      }
    }
    tuple().binpersid();
    integer(offset).ints(size).ints(stride).bool(false);
    global("collections", "OrderedDict").emptyTuple().reduce();
    return tuple().reduce();
  }

  byte[] bytes() {
    return out.toByteArray();
  }

  static byte[] f32(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putFloat(x);
    }
    return b.array();
  }

  static byte[] i16(int... v) {
    ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int x : v) {
      b.putShort((short) x);
    }
    return b.array();
  }

  static byte[] i64(long... v) {
    ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return b.array();
  }

  /** A zip checkpoint: {@code root/data.pkl} (DEFLATED) and {@code root/data/<key>} (STORED or DEFLATED). */
  static void writeZip(Path file, String root, byte[] pickle, List<String> keys, List<byte[]> storages,
      boolean deflateStorages) throws IOException {
    try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
      ZipEntry pe = new ZipEntry(root + "/data.pkl");
      pe.setMethod(ZipEntry.DEFLATED);
      z.putNextEntry(pe);
      z.write(pickle);
      z.closeEntry();
      for (int i = 0; i < keys.size(); i++) {
        ZipEntry e = new ZipEntry(root + "/data/" + keys.get(i));
        byte[] b = storages.get(i);
        if (deflateStorages) {
          e.setMethod(ZipEntry.DEFLATED);
        } else {
          e.setMethod(ZipEntry.STORED);
          e.setSize(b.length);
          e.setCompressedSize(b.length);
          CRC32 crc = new CRC32();
          crc.update(b);
          e.setCrc(crc.getValue());
        }
        z.putNextEntry(e);
        z.write(b);
        z.closeEntry();
      }
      ZipEntry v = new ZipEntry(root + "/version");
      z.putNextEntry(v);
      z.write("3\n".getBytes(StandardCharsets.US_ASCII));
      z.closeEntry();
    }
  }

  /** The legacy stream: magic, protocol, sys_info, the object pickle, the key list, then count + bytes per key. */
  static byte[] legacy(byte[] objectPickle, List<String> keys, List<byte[]> storages, List<Integer> elemSizes) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.writeBytes(new PickleWriter().proto(2).long1(LegacyFormat.MAGIC).stop().bytes());
    o.writeBytes(new PickleWriter().proto(2).integer(1001).stop().bytes());
    o.writeBytes(new PickleWriter().proto(2).emptyDict().mark().str("protocol_version").integer(1001)
        .str("little_endian").bool(true).setitems().stop().bytes());
    o.writeBytes(objectPickle);
    PickleWriter kl = new PickleWriter().proto(2).emptyList().mark();
    for (String k : keys) {
      kl.str(k);
    }
    o.writeBytes(kl.appends().stop().bytes());
    for (int i = 0; i < keys.size(); i++) {
      byte[] b = storages.get(i);
      o.writeBytes(i64(b.length / elemSizes.get(i)));
      o.writeBytes(b);
    }
    return o.toByteArray();
  }
}
