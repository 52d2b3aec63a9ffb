/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safe pickle virtual machine (protocols 0-5, the opcodes PyTorch checkpoints and TorchScript archives use and
 * the rest of the common ones). It builds Java data only: globals are resolved through the {@link Globals}
 * allowlist, tensors become {@link Py.TensorRef}s, persistent ids are handed to a {@link PersistentLoader}.
 */
final class Unpickler {
  /** Resolves a persistent id (BINPERSID / PERSID) to a value, usually a {@link Py.StorageRef}. */
  interface PersistentLoader {
    Object load(Object pid, String where) throws CheckpointFormatException;
  }

  private static final Object MARK = new Object() {
    @Override
    public String toString() {
      return "<mark>";
    }
  };

  private final PickleSource in;
  private final PersistentLoader persistent;
  private final ArrayList<Object> stack = new ArrayList<>();
  private final ArrayList<Object> metaStack = new ArrayList<>(); // saved stacks for MARK
  private final Map<Long, Object> memo = new HashMap<>();
  private long opOffset;
  private int opcode;

  Unpickler(PickleSource in, PersistentLoader persistent) {
    this.in = in;
    this.persistent = persistent;
  }

  private String here() {
    return in.where + " at offset " + opOffset + " (opcode 0x" + Integer.toHexString(opcode) + ")";
  }

  private CheckpointFormatException bad(String msg) {
    return new CheckpointFormatException(in.where + ": corrupt pickle at offset " + opOffset + " (opcode 0x"
        + Integer.toHexString(opcode) + "): " + msg);
  }

  /** Runs the VM up to STOP and returns the pickled object. */
  Object load() throws CheckpointFormatException {
    while (true) {
      opOffset = in.position();
      opcode = in.readByte();
      switch (opcode) {
        case 0x80: { // PROTO
          int proto = in.readByte();
          if (proto > 5) {
            throw bad("unsupported pickle protocol " + proto);
          }
          break;
        }
        case 0x95: // FRAME: an 8-byte length hint, the framed bytes follow inline
          in.readBytes(8, "FRAME length");
          break;
        case '.': { // STOP
          Object v = pop();
          if (!metaStack.isEmpty()) {
            throw bad("STOP inside an unclosed MARK");
          }
          return v;
        }
        case '(': // MARK
          metaStack.add(new ArrayList<>(stack));
          stack.clear();
          stack.add(MARK); // sentinel so pop() cannot cross a mark
          break;
        case '0': // POP
          if (!stack.isEmpty() && stack.get(stack.size() - 1) == MARK) {
            popMark();
          } else {
            pop();
          }
          break;
        case '1': // POP_MARK
          popMark();
          break;
        case '2': // DUP
          push(top());
          break;
        // ---- constants and numbers
        case 'N':
          push(null);
          break;
        case 0x88:
          push(Boolean.TRUE);
          break;
        case 0x89:
          push(Boolean.FALSE);
          break;
        case 'J': // BININT
          push((long) le(in.readBytes(4, "BININT")).getInt());
          break;
        case 'K': // BININT1
          push((long) in.readByte());
          break;
        case 'M': { // BININT2
          byte[] b = in.readBytes(2, "BININT2");
          push((long) ((b[0] & 0xff) | (b[1] & 0xff) << 8));
          break;
        }
        case 0x8a: { // LONG1 (at most 255 bytes)
          int n = in.readByte();
          push(decodeLong(in.readBytes(n, "LONG1")));
          break;
        }
        case 0x8b: { // LONG4
          int n = le(in.readBytes(4, "LONG4 length")).getInt();
          if (n < 0 || n > MAX_LONG_BYTES) {
            throw bad("LONG4 length " + n + " outside [0, " + MAX_LONG_BYTES + "]");
          }
          push(decodeLong(in.readBytes(n, "LONG4")));
          break;
        }
        case 'G': // BINFLOAT (big-endian)
          push(ByteBuffer.wrap(in.readBytes(8, "BINFLOAT")).order(ByteOrder.BIG_ENDIAN).getDouble());
          break;
        case 'I': { // INT (text); "01"/"00" are True/False
          String s = in.readLine("INT");
          if (s.equals("01")) {
            push(Boolean.TRUE);
          } else if (s.equals("00")) {
            push(Boolean.FALSE);
          } else {
            push(parseInt(s));
          }
          break;
        }
        case 'L': { // LONG (text)
          String s = in.readLine("LONG");
          push(parseInt(s.endsWith("L") ? s.substring(0, s.length() - 1) : s));
          break;
        }
        case 'F': { // FLOAT (text)
          String s = in.readLine("FLOAT");
          try {
            push(Double.parseDouble(s.trim()));
          } catch (NumberFormatException e) {
            throw bad("bad FLOAT literal '" + s + "'");
          }
          break;
        }
        // ---- strings and bytes
        case 'X': // BINUNICODE
          push(utf8(in.readBytes(u32(in.readBytes(4, "BINUNICODE length")), "BINUNICODE")));
          break;
        case 0x8c: // SHORT_BINUNICODE
          push(utf8(in.readBytes(in.readByte(), "SHORT_BINUNICODE")));
          break;
        case 0x8d: // BINUNICODE8
          push(utf8(in.readBytes(u64(in.readBytes(8, "BINUNICODE8 length")), "BINUNICODE8")));
          break;
        case 'V': // UNICODE (raw-unicode-escape text)
          push(rawUnicodeEscape(in.readLine("UNICODE")));
          break;
        case 'U': // SHORT_BINSTRING (Python 2 str): decoded like torch.load's default encoding
          push(py2str(in.readBytes(in.readByte(), "SHORT_BINSTRING")));
          break;
        case 'T': { // BINSTRING
          int n = le(in.readBytes(4, "BINSTRING length")).getInt();
          if (n < 0) {
            throw bad("negative BINSTRING length " + n);
          }
          push(py2str(in.readBytes(n, "BINSTRING")));
          break;
        }
        case 'S': // STRING (quoted repr)
          push(py2str(unquote(in.readLine("STRING"))));
          break;
        case 'C': // SHORT_BINBYTES
          push(in.readBytes(in.readByte(), "SHORT_BINBYTES"));
          break;
        case 'B': // BINBYTES
          push(in.readBytes(u32(in.readBytes(4, "BINBYTES length")), "BINBYTES"));
          break;
        case 0x8e: // BINBYTES8
          push(in.readBytes(u64(in.readBytes(8, "BINBYTES8 length")), "BINBYTES8"));
          break;
        case 0x96: // BYTEARRAY8
          push(in.readBytes(u64(in.readBytes(8, "BYTEARRAY8 length")), "BYTEARRAY8"));
          break;
        case 0x97: // NEXT_BUFFER
          throw bad("out-of-band buffers (NEXT_BUFFER) are not supported");
        case 0x98: // READONLY_BUFFER: no-op for us
          break;
        // ---- containers
        case ')':
          push(Py.Tuple.EMPTY);
          break;
        case 't':
          push(new Py.Tuple(popMark().toArray()));
          break;
        case 0x85:
          push(new Py.Tuple(new Object[] {pop()}));
          break;
        case 0x86: {
          Object b = pop();
          Object a = pop();
          push(new Py.Tuple(new Object[] {a, b}));
          break;
        }
        case 0x87: {
          Object c = pop();
          Object b = pop();
          Object a = pop();
          push(new Py.Tuple(new Object[] {a, b, c}));
          break;
        }
        case ']':
          push(new ArrayList<>());
          break;
        case 'l':
          push(new ArrayList<>(popMark()));
          break;
        case 'a': { // APPEND
          Object v = pop();
          asList(top()).add(v);
          break;
        }
        case 'e': { // APPENDS
          List<Object> items = popMark();
          asList(top()).addAll(items);
          break;
        }
        case '}':
          push(new LinkedHashMap<>());
          break;
        case 'd': { // DICT
          List<Object> items = popMark();
          Map<Object, Object> m = new LinkedHashMap<>();
          putPairs(m, items);
          push(m);
          break;
        }
        case 's': { // SETITEM
          Object v = pop();
          Object k = pop();
          asMap(top()).put(key(k, "dict key"), v);
          break;
        }
        case 'u': { // SETITEMS
          List<Object> items = popMark();
          putPairs(asMap(top()), items);
          break;
        }
        case 0x8f: // EMPTY_SET
          push(new LinkedHashSet<>());
          break;
        case 0x90: { // ADDITEMS
          List<Object> items = popMark();
          Object s = top();
          if (!(s instanceof Set)) {
            throw bad("ADDITEMS on " + typeName(s));
          }
          @SuppressWarnings("unchecked")
          Set<Object> set = (Set<Object>) s;
          for (Object it : items) set.add(key(it, "set element"));
          break;
        }
        case 0x91: { // FROZENSET
          Set<Object> set = new LinkedHashSet<>();
          for (Object it : popMark()) set.add(key(it, "frozenset element"));
          push(set);
          break;
        }
        // ---- memo
        case 'p': // PUT (text)
          memo.put(parseIndex(in.readLine("PUT")), top());
          break;
        case 'q': // BINPUT
          memo.put((long) in.readByte(), top());
          break;
        case 'r': // LONG_BINPUT
          memo.put(u32(in.readBytes(4, "LONG_BINPUT")), top());
          break;
        case 0x94: // MEMOIZE
          memo.put((long) memo.size(), top());
          break;
        case 'g': // GET (text)
          push(memoGet(parseIndex(in.readLine("GET"))));
          break;
        case 'h': // BINGET
          push(memoGet(in.readByte()));
          break;
        case 'j': // LONG_BINGET
          push(memoGet(u32(in.readBytes(4, "LONG_BINGET"))));
          break;
        // ---- globals, objects, calls
        case 'c': { // GLOBAL "module\nname\n"
          String module = in.readLine("GLOBAL module");
          String name = in.readLine("GLOBAL name");
          push(Globals.resolve(module, name, here()));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          Object name = pop();
          Object module = pop();
          if (!(module instanceof String) || !(name instanceof String)) {
            throw bad("STACK_GLOBAL needs two strings, got " + typeName(module) + ", " + typeName(name));
          }
          push(Globals.resolve((String) module, (String) name, here()));
          break;
        }
        case 'i': { // INST "module\nname\n" + args from MARK
          String module = in.readLine("INST module");
          String name = in.readLine("INST name");
          Py.Global g = Globals.resolve(module, name, here());
          push(call(g, new Py.Tuple(popMark().toArray())));
          break;
        }
        case 'o': { // OBJ: MARK cls args...
          List<Object> items = popMark();
          if (items.isEmpty()) {
            throw bad("OBJ without a class");
          }
          Object cls = items.get(0);
          push(call(asGlobal(cls), new Py.Tuple(items.subList(1, items.size()).toArray())));
          break;
        }
        case 'R': { // REDUCE
          Object args = pop();
          Object fn = pop();
          push(call(asGlobal(fn), asTuple(args)));
          break;
        }
        case 0x81: { // NEWOBJ
          Object args = pop();
          Object cls = pop();
          push(newObj(asGlobal(cls), asTuple(args)));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          pop(); // kwargs
          Object args = pop();
          Object cls = pop();
          push(newObj(asGlobal(cls), asTuple(args)));
          break;
        }
        case 'b': { // BUILD
          Object state = pop();
          build(top(), state);
          break;
        }
        case 0x82:
        case 0x83:
        case 0x84:
          throw bad("copyreg extension codes (EXT1/2/4) are not supported");
        case 'Q': { // BINPERSID
          Object pid = pop();
          push(persistent.load(pid, here()));
          break;
        }
        case 'P': // PERSID (text)
          push(persistent.load(in.readLine("PERSID"), here()));
          break;
        default:
          throw bad("unknown opcode");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // stack helpers

  private void push(Object o) {
    stack.add(o);
  }

  private Object top() throws CheckpointFormatException {
    if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
      throw bad("stack underflow");
    }
    return stack.get(stack.size() - 1);
  }

  private Object pop() throws CheckpointFormatException {
    Object o = top();
    stack.remove(stack.size() - 1);
    return o;
  }

  /** Pops everything down to the last MARK and restores the stack saved by it. */
  @SuppressWarnings("unchecked")
  private List<Object> popMark() throws CheckpointFormatException {
    if (metaStack.isEmpty()) {
      throw bad("no MARK on the stack");
    }
    List<Object> items = new ArrayList<>(stack.subList(1, stack.size()));
    stack.clear();
    stack.addAll((List<Object>) metaStack.remove(metaStack.size() - 1));
    return items;
  }

  private Object memoGet(long idx) throws CheckpointFormatException {
    if (!memo.containsKey(idx)) {
      throw bad("memo key " + idx + " was never stored");
    }
    return memo.get(idx);
  }

  private void putPairs(Map<Object, Object> m, List<Object> items) throws CheckpointFormatException {
    if (items.size() % 2 != 0) {
      throw bad("odd number of items (" + items.size() + ") for a dict");
    }
    for (int i = 0; i < items.size(); i += 2) {
      m.put(key(items.get(i), "dict key"), items.get(i + 1));
    }
  }

  /** Largest tuple accepted as a dict key or set element. */
  private static final int MAX_KEY_TUPLE = 16;
  /** Most digits of a text integer (Python's own default limit is 4300): parsing longer ones is quadratic. */
  static final int MAX_INT_DIGITS = 4300;
  /** Most bytes of a LONG1/LONG4 integer. */
  static final int MAX_LONG_BYTES = 4096;

  /**
   * A dict key or set element must be hashable in constant time: a scalar (str, int, float, bool, None, bytes) or a
   * short tuple of scalars. Checkpoints use string and integer keys; a container key is refused because hashing or
   * comparing a shared (DAG) structure is exponential in its depth: a 2 KB pickle of nested tuples or frozensets
   * used as keys ran for minutes.
   */
  private Object key(Object k, String role) throws CheckpointFormatException {
    if (scalar(k)) return k;
    if (k instanceof List<?> t && t.size() <= MAX_KEY_TUPLE) {
      for (Object e : t) {
        if (!scalar(e)) throw bad(role + " is a tuple holding a " + typeName(e) + " (only flat tuples of scalars)");
      }
      return k;
    }
    throw bad(role + " of type " + typeName(k) + " is not supported in a checkpoint (only strings, numbers, "
        + "booleans, None, bytes and short flat tuples of them)");
  }

  private static boolean scalar(Object o) {
    return o == null || o instanceof String || o instanceof Long || o instanceof BigInteger || o instanceof Double
        || o instanceof Boolean || o instanceof byte[];
  }

  @SuppressWarnings("unchecked")
  private List<Object> asList(Object o) throws CheckpointFormatException {
    if (!(o instanceof ArrayList)) {
      throw bad("APPEND(S) on " + typeName(o));
    }
    return (List<Object>) o;
  }

  @SuppressWarnings("unchecked")
  private Map<Object, Object> asMap(Object o) throws CheckpointFormatException {
    if (!(o instanceof Map)) {
      throw bad("SETITEM(S) on " + typeName(o));
    }
    return (Map<Object, Object>) o;
  }

  private Py.Global asGlobal(Object o) throws CheckpointFormatException {
    if (!(o instanceof Py.Global)) {
      throw bad("call of a non-callable " + typeName(o));
    }
    return (Py.Global) o;
  }

  private Py.Tuple asTuple(Object o) throws CheckpointFormatException {
    if (!(o instanceof Py.Tuple)) {
      throw bad("arguments must be a tuple, got " + typeName(o));
    }
    return (Py.Tuple) o;
  }

  static String typeName(Object o) {
    if (o == null) {
      return "None";
    }
    if (o instanceof Py.Global || o instanceof Py.Obj) {
      return o.toString();
    }
    if (o instanceof Py.Tuple) {
      return "tuple";
    }
    if (o instanceof List) {
      return "list";
    }
    if (o instanceof Map) {
      return "dict";
    }
    if (o instanceof byte[]) {
      return "bytes";
    }
    return o.getClass().getSimpleName();
  }

  // ---------------------------------------------------------------------------------------------------------
  // calls: every allowlisted global maps to a data constructor

  private Object newObj(Py.Global g, Py.Tuple args) throws CheckpointFormatException {
    switch (g.kind) {
      case TORCHSCRIPT_CLASS:
        return new Py.Obj(g.module + "." + g.name);
      case ORDERED_DICT:
        return new LinkedHashMap<>();
      default:
        throw bad("cannot instantiate " + g + " with NEWOBJ");
    }
  }

  private void build(Object obj, Object state) throws CheckpointFormatException {
    if (obj instanceof Py.Obj) {
      ((Py.Obj) obj).state = state;
    } else if (obj instanceof Map || obj instanceof Py.TensorRef || obj instanceof Collection) {
      // An OrderedDict's instance attributes (state_dict()'s _metadata), a tensor's Python-side state:
      // not part of the data we read.
      return;
    } else {
      throw bad("BUILD on " + typeName(obj));
    }
  }

  private Object call(Py.Global g, Py.Tuple a) throws CheckpointFormatException {
    switch (g.kind) {
      case ORDERED_DICT: {
        Map<Object, Object> m = new LinkedHashMap<>();
        if (a.size() == 1 && a.get(0) instanceof List) {
          for (Object pair : (List<?>) a.get(0)) {
            if (!(pair instanceof List) || ((List<?>) pair).size() != 2) {
              throw bad("OrderedDict items must be pairs");
            }
            m.put(((List<?>) pair).get(0), ((List<?>) pair).get(1));
          }
        } else if (!a.isEmpty()) {
          throw bad("unexpected OrderedDict arguments");
        }
        return m;
      }
      case REBUILD_TENSOR:
      case REBUILD_TENSOR_V2: {
        int min = g.kind == Py.Kind.REBUILD_TENSOR ? 4 : 6;
        if (a.size() < min || a.size() > 7) {
          throw bad(g + " expects " + min + "-7 arguments, got " + a.size());
        }
        if (!(a.get(0) instanceof Py.StorageRef)) {
          throw bad(g + ": first argument must be a storage, got " + typeName(a.get(0)));
        }
        Py.StorageRef st = (Py.StorageRef) a.get(0);
        long offset = asLong(a.get(1), "storage_offset");
        long[] size = longs(a.get(2), "size");
        long[] stride = longs(a.get(3), "stride");
        if (size.length != stride.length) {
          throw bad(g + ": size " + java.util.Arrays.toString(size) + " and stride "
              + java.util.Arrays.toString(stride) + " differ in length");
        }
        return new Py.TensorRef(st, offset, size, stride);
      }
      case REBUILD_PARAMETER:
      case REBUILD_PARAMETER_WITH_STATE:
        if (a.isEmpty() || !(a.get(0) instanceof Py.TensorRef)) {
          throw bad(g + ": first argument must be a tensor");
        }
        return a.get(0);
      case REBUILD_FROM_TYPE_V2: {
        // (func, type, args, state): rebuild with func (itself allowlisted), keep it a plain tensor.
        if (a.size() != 4 || !(a.get(0) instanceof Py.Global) || !(a.get(1) instanceof Py.Global)
            || ((Py.Global) a.get(1)).kind != Py.Kind.TENSOR_TYPE) {
          throw bad(g + " expects (rebuild function, torch.Tensor or Parameter, args, state)");
        }
        Object t = call((Py.Global) a.get(0), asTuple(a.get(2)));
        if (!(t instanceof Py.TensorRef)) {
          throw bad(g + ": " + a.get(0) + " did not give a tensor");
        }
        return t;
      }
      case TORCH_DEVICE: {
        if (a.isEmpty() || !(a.get(0) instanceof String)) {
          throw bad("torch.device expects a string");
        }
        return a.size() > 1 && a.get(1) != null ? a.get(0) + ":" + a.get(1) : a.get(0);
      }
      case TORCH_SIZE:
        if (a.size() != 1 || !(a.get(0) instanceof List)) {
          throw bad("torch.Size expects one tuple");
        }
        return new Py.Tuple(((List<?>) a.get(0)).toArray());
      case SET:
      case FROZENSET:
        if (a.isEmpty()) {
          return new LinkedHashSet<>();
        }
        if (a.size() != 1 || !(a.get(0) instanceof Collection)) {
          throw bad(g + " expects one iterable");
        }
        return new LinkedHashSet<>((Collection<?>) a.get(0));
      case CODECS_ENCODE: {
        // Python 3 pickles bytes at protocol 2 as _codecs.encode(str, 'latin1').
        if (a.size() != 2 || !(a.get(0) instanceof String) || !"latin1".equals(a.get(1))) {
          throw bad("_codecs.encode supported only as (str, 'latin1')");
        }
        return ((String) a.get(0)).getBytes(StandardCharsets.ISO_8859_1);
      }
      case JIT_BUILD_LIST:
        if (a.size() != 1) {
          throw bad(g + " expects one argument");
        }
        return a.get(0);
      case JIT_RESTORE_TYPE_TAG:
        if (a.isEmpty()) {
          throw bad(g + " expects arguments");
        }
        return a.get(0);
      case TORCHSCRIPT_CLASS:
        return new Py.Obj(g.module + "." + g.name);
      default:
        throw bad(g + " is not callable");
    }
  }

  private long asLong(Object o, String what) throws CheckpointFormatException {
    if (o instanceof Long) {
      return (Long) o;
    }
    throw bad(what + " must be an int, got " + typeName(o));
  }

  private long[] longs(Object o, String what) throws CheckpointFormatException {
    if (!(o instanceof List)) {
      throw bad(what + " must be a tuple of ints, got " + typeName(o));
    }
    List<?> l = (List<?>) o;
    long[] r = new long[l.size()];
    for (int i = 0; i < r.length; i++) {
      r[i] = asLong(l.get(i), what + "[" + i + "]");
    }
    return r;
  }

  // ---------------------------------------------------------------------------------------------------------
  // decoding helpers

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static long u32(byte[] b) {
    return le(b).getInt() & 0xffffffffL;
  }

  private long u64(byte[] b) throws CheckpointFormatException {
    long v = le(b).getLong();
    if (v < 0) {
      throw bad("length " + Long.toUnsignedString(v) + " is too large");
    }
    return v;
  }

  /** Little-endian two's complement, as LONG1/LONG4 store it. */
  static Object decodeLong(byte[] b) {
    if (b.length == 0) {
      return 0L;
    }
    byte[] be = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      be[i] = b[b.length - 1 - i];
    }
    BigInteger v = new BigInteger(be);
    return v.bitLength() < 64 ? (Object) v.longValue() : v;
  }

  private Object parseInt(String s) throws CheckpointFormatException {
    if (s.length() > MAX_INT_DIGITS) {
      throw bad("integer literal of " + s.length() + " characters (at most " + MAX_INT_DIGITS + ")");
    }
    try {
      BigInteger v = new BigInteger(s.trim());
      return v.bitLength() < 64 ? (Object) v.longValue() : v;
    } catch (NumberFormatException e) {
      throw bad("bad integer literal '" + s + "'");
    }
  }

  private long parseIndex(String s) throws CheckpointFormatException {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      throw bad("bad memo index '" + s + "'");
    }
  }

  private String utf8(byte[] b) throws CheckpointFormatException {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw bad("string is not valid UTF-8");
    }
  }

  /** Python 2 str: torch.load decodes with UTF-8; fall back to Latin-1 for non-UTF-8 bytes. */
  private static String py2str(byte[] b) {
    try {
      CharBuffer cb = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
      return cb.toString();
    } catch (CharacterCodingException e) {
      return new String(b, StandardCharsets.ISO_8859_1);
    }
  }

  /** Decodes a protocol-0 STRING argument: a Python repr in single or double quotes with backslash escapes. */
  private byte[] unquote(String s) throws CheckpointFormatException {
    if (s.length() < 2 || s.charAt(0) != s.charAt(s.length() - 1) || (s.charAt(0) != '\'' && s.charAt(0) != '"')) {
      throw bad("STRING argument is not quoted");
    }
    String body = s.substring(1, s.length() - 1);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < body.length(); i++) {
      char c = body.charAt(i);
      if (c != '\\' || i + 1 >= body.length()) {
        out.write(c & 0xff);
        continue;
      }
      char e = body.charAt(++i);
      switch (e) {
        case 'n': out.write('\n'); break;
        case 't': out.write('\t'); break;
        case 'r': out.write('\r'); break;
        case '0': out.write(0); break;
        case 'x':
          if (i + 2 >= body.length()) {
            throw bad("bad \\x escape in STRING");
          }
          try {
            out.write(Integer.parseInt(body.substring(i + 1, i + 3), 16));
          } catch (RuntimeException ex) {
            throw bad("bad \\x escape in STRING");
          }
          i += 2;
          break;
        default: out.write(e & 0xff); break;
      }
    }
    return out.toByteArray();
  }

  /** Decodes Python's raw-unicode-escape (protocol-0 UNICODE): only \\uXXXX and \\UXXXXXXXX are escapes. */
  private String rawUnicodeEscape(String s) throws CheckpointFormatException {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length() && (s.charAt(i + 1) == 'u' || s.charAt(i + 1) == 'U')) {
        int n = s.charAt(i + 1) == 'u' ? 4 : 8;
        if (i + 2 + n > s.length()) {
          throw bad("bad \\u escape in UNICODE");
        }
        try {
          sb.appendCodePoint(Integer.parseInt(s.substring(i + 2, i + 2 + n), 16));
        } catch (RuntimeException ex) {
          throw bad("bad \\u escape in UNICODE");
        }
        i += 1 + n;
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
