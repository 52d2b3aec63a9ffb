/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.util.Locale;

/** A minimal JSON object writer for manifests (no dependency; values are strings, numbers, booleans or null). */
final class Json {
  private Json() {}

  /** One JSON object built field by field, in insertion order. */
  static final class Obj {
    private final StringBuilder sb = new StringBuilder("{");

    private Obj key(String k) {
      if (sb.length() > 1) sb.append(", ");
      quote(sb, k);
      sb.append(": ");
      return this;
    }

    Obj put(String k, String v) {
      key(k);
      if (v == null) sb.append("null");
      else quote(sb, v);
      return this;
    }

    Obj put(String k, double v) {
      key(k);
      if (Double.isFinite(v)) sb.append(v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v)
          : String.valueOf(v)); // shortest repr that round-trips; "1.0E-5" is valid JSON
      else sb.append("null");
      return this;
    }

    Obj put(String k, long v) {
      key(k);
      sb.append(v);
      return this;
    }

    Obj put(String k, boolean v) {
      key(k);
      sb.append(v);
      return this;
    }

    Obj putRaw(String k, String json) {
      key(k);
      sb.append(json);
      return this;
    }

    @Override
    public String toString() {
      return sb + "}";
    }
  }

  static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    sb.append('"');
  }
}
