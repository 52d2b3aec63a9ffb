/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal, strict JSON reader (RFC 8259) for the small configuration files of the frozen prior networks
 * (HRNet {@code config.json}, CLIP {@code manifest.json}). No dependency beyond the JDK.
 *
 * <p>Values map to Java as: object → {@code LinkedHashMap<String,Object>} (key order kept), array →
 * {@code ArrayList<Object>}, string → {@code String}, number → {@code Double} (or {@code Long} when it is an
 * integer literal without fraction/exponent), {@code true/false} → {@code Boolean}, {@code null} → {@code null}.
 */
public final class MiniJson {
  private final String s;
  private int pos;

  private MiniJson(String s) {
    this.s = s;
  }

  /**
   * Parses a JSON text.
   *
   * @param text the whole document
   * @return the root value (see the class comment for the Java types)
   * @throws IllegalArgumentException on malformed input, naming the character offset
   */
  public static Object parse(String text) {
    MiniJson p = new MiniJson(text);
    p.ws();
    Object v = p.value();
    p.ws();
    if (p.pos != text.length()) {
      throw p.error("trailing characters");
    }
    return v;
  }

  /**
   * Reads and parses a UTF-8 JSON file.
   *
   * @param file the file
   * @return the root value
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException on malformed JSON (the message names the file)
   */
  public static Object parse(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    try {
      return parse(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Returns {@code map.get(key)} as a JSON object, failing with a message naming the key.
   *
   * @param map a JSON object
   * @param key the member name
   * @return the member as a map
   */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> object(Map<String, Object> map, String key) {
    Object v = require(map, key);
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException("JSON member '" + key + "' is not an object: " + v);
    }
    return (Map<String, Object>) v;
  }

  /**
   * Returns {@code map.get(key)} as an int, failing if it is missing or not an integral number.
   *
   * @param map a JSON object
   * @param key the member name
   * @return the integer value
   */
  public static int integer(Map<String, Object> map, String key) {
    return toInt(require(map, key), key);
  }

  /**
   * Returns {@code map.get(key)} as a double, failing if it is missing or not a number.
   *
   * @param map a JSON object
   * @param key the member name
   * @return the value
   */
  public static double number(Map<String, Object> map, String key) {
    Object v = require(map, key);
    if (!(v instanceof Number)) {
      throw new IllegalArgumentException("JSON member '" + key + "' is not a number: " + v);
    }
    return ((Number) v).doubleValue();
  }

  /**
   * Returns {@code map.get(key)} as a string, failing if it is missing or not a string.
   *
   * @param map a JSON object
   * @param key the member name
   * @return the value
   */
  public static String string(Map<String, Object> map, String key) {
    Object v = require(map, key);
    if (!(v instanceof String)) {
      throw new IllegalArgumentException("JSON member '" + key + "' is not a string: " + v);
    }
    return (String) v;
  }

  /**
   * Returns {@code map.get(key)} as an int array, failing if it is missing or not an array of integers.
   *
   * @param map a JSON object
   * @param key the member name
   * @return the values
   */
  public static int[] intArray(Map<String, Object> map, String key) {
    Object v = require(map, key);
    if (!(v instanceof List)) {
      throw new IllegalArgumentException("JSON member '" + key + "' is not an array: " + v);
    }
    List<?> list = (List<?>) v;
    int[] out = new int[list.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = toInt(list.get(i), key + "[" + i + "]");
    }
    return out;
  }

  private static Object require(Map<String, Object> map, String key) {
    if (!map.containsKey(key)) {
      throw new IllegalArgumentException("JSON member '" + key + "' is missing (have " + map.keySet() + ")");
    }
    return map.get(key);
  }

  private static int toInt(Object v, String what) {
    if (v instanceof Long) {
      long l = (Long) v;
      if (l == (int) l) {
        return (int) l;
      }
    } else if (v instanceof Double) {
      double d = (Double) v;
      if (d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE) {
        return (int) d;
      }
    }
    throw new IllegalArgumentException("JSON value '" + what + "' is not an int: " + v);
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("malformed JSON at offset " + pos + ": " + what);
  }

  private void ws() {
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        pos++;
      } else {
        break;
      }
    }
  }

  private Object value() {
    if (pos >= s.length()) {
      throw error("unexpected end");
    }
    char c = s.charAt(pos);
    switch (c) {
      case '{':
        return obj();
      case '[':
        return arr();
      case '"':
        return str();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return num();
        }
        throw error("unexpected character '" + c + "'");
    }
  }

  private Object literal(String word, Object v) {
    if (!s.startsWith(word, pos)) {
      throw error("expected " + word);
    }
    pos += word.length();
    return v;
  }

  private Map<String, Object> obj() {
    Map<String, Object> m = new LinkedHashMap<>();
    pos++;
    ws();
    if (pos < s.length() && s.charAt(pos) == '}') {
      pos++;
      return m;
    }
    while (true) {
      ws();
      if (pos >= s.length() || s.charAt(pos) != '"') {
        throw error("expected a member name");
      }
      String k = str();
      ws();
      expect(':');
      ws();
      m.put(k, value());
      ws();
      if (pos < s.length() && s.charAt(pos) == ',') {
        pos++;
        continue;
      }
      expect('}');
      return m;
    }
  }

  private List<Object> arr() {
    List<Object> l = new ArrayList<>();
    pos++;
    ws();
    if (pos < s.length() && s.charAt(pos) == ']') {
      pos++;
      return l;
    }
    while (true) {
      ws();
      l.add(value());
      ws();
      if (pos < s.length() && s.charAt(pos) == ',') {
        pos++;
        continue;
      }
      expect(']');
      return l;
    }
  }

  private void expect(char c) {
    if (pos >= s.length() || s.charAt(pos) != c) {
      throw error("expected '" + c + "'");
    }
    pos++;
  }

  private String str() {
    pos++;
    StringBuilder b = new StringBuilder();
    while (true) {
      if (pos >= s.length()) {
        throw error("unterminated string");
      }
      char c = s.charAt(pos++);
      if (c == '"') {
        return b.toString();
      }
      if (c != '\\') {
        b.append(c);
        continue;
      }
      if (pos >= s.length()) {
        throw error("unterminated escape");
      }
      char e = s.charAt(pos++);
      switch (e) {
        case '"': b.append('"'); break;
        case '\\': b.append('\\'); break;
        case '/': b.append('/'); break;
        case 'b': b.append('\b'); break;
        case 'f': b.append('\f'); break;
        case 'n': b.append('\n'); break;
        case 'r': b.append('\r'); break;
        case 't': b.append('\t'); break;
        case 'u':
          if (pos + 4 > s.length()) {
            throw error("short \\u escape");
          }
          try {
            b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
          } catch (NumberFormatException ex) {
            throw error("bad \\u escape");
          }
          pos += 4;
          break;
        default:
          throw error("bad escape \\" + e);
      }
    }
  }

  private Number num() {
    int start = pos;
    boolean integral = true;
    if (s.charAt(pos) == '-') {
      pos++;
    }
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c >= '0' && c <= '9') {
        pos++;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        integral = false;
        pos++;
      } else {
        break;
      }
    }
    String t = s.substring(start, pos);
    try {
      if (integral) {
        try {
          return Long.parseLong(t);
        } catch (NumberFormatException tooLong) {
          return Double.parseDouble(t);
        }
      }
      return Double.parseDouble(t);
    } catch (NumberFormatException ex) {
      throw error("bad number '" + t + "'");
    }
  }
}
