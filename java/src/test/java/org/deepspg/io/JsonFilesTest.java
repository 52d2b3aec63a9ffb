/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link JsonFiles}: strict bounded reading, typed accessors, the three layouts, non-finite numbers. */
class JsonFilesTest {
  /** A record written through the shared mapper (component order = member order). */
  record Row(String name, double value, int count) {}

  @Test
  void parsesValuesAndTypedAccessors() {
    JsonNode m = JsonFiles.parse(
        " {\"a\": 1, \"b\": -2.5e-1, \"c\": [1, 2, 3.0], \"d\": {\"e\": true, \"f\": null},"
            + " \"g\": \"x\\\"y\\u00e9\\n\", \"h\": [], \"i\": 99999999999999999999} ");
    assertEquals(1, JsonFiles.integer(m, "a"));
    assertEquals(-0.25, JsonFiles.number(m, "b"));
    assertArrayEquals(new int[] {1, 2, 3}, JsonFiles.intArray(m, "c"), "integral floats count as ints");
    assertTrue(JsonFiles.object(m, "d").get("e").booleanValue());
    assertTrue(JsonFiles.object(m, "d").get("f").isNull());
    assertEquals("x\"yé\n", JsonFiles.string(m, "g"));
    assertEquals(0, m.get("h").size());
    assertEquals(1e20, JsonFiles.number(m, "i"), 1e5);
    List<String> keys = new ArrayList<>();
    m.fieldNames().forEachRemaining(keys::add);
    assertEquals(List.of("a", "b", "c", "d", "g", "h", "i"), keys, "member order kept");
  }

  @Test
  void rejectsMalformedInputAndWrongTypes() {
    for (String bad : new String[] {"{\"a\": 1,}", "[1 2]", "{\"a\": 1} x", "\"open", "{\"a\": NaN}",
        "{\"a\": 1, \"a\": 2}", "// c\n{}", "{'a': 1}", ""}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonFiles.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("malformed JSON"), e.getMessage());
    }
    JsonNode m = JsonFiles.parse("{\"a\": 1.5, \"s\": \"t\", \"big\": 3000000000, \"arr\": [1, \"x\"]}");
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.integer(m, "a"));
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.integer(m, "big"));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> JsonFiles.integer(m, "missing"));
    assertTrue(missing.getMessage().contains("'missing' is missing (have [a, s, big, arr])"), missing.getMessage());
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.object(m, "s"));
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.number(m, "s"));
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.string(m, "a"));
    IllegalArgumentException arr = assertThrows(IllegalArgumentException.class, () -> JsonFiles.intArray(m, "arr"));
    assertTrue(arr.getMessage().contains("arr[1]"), arr.getMessage());
  }

  @Test
  void readingIsBoundedInSizeAndDepth(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("x.json");
    Files.writeString(f, "{\"pad\": \"" + "x".repeat(2000) + "\"}");
    assertEquals(2000, JsonFiles.string(JsonFiles.readTree(f), "pad").length());
    IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> JsonFiles.readTree(f, 1000));
    assertTrue(big.getMessage().contains("1000-byte limit") && big.getMessage().contains(f.toString()),
        big.getMessage());
    byte[] bytes = Files.readAllBytes(f);
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.readTree(new ByteArrayInputStream(bytes), 1000));
    assertEquals(2000, JsonFiles.readTree(new ByteArrayInputStream(bytes), 4096).get("pad").textValue().length());
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.readTree(f, JsonFiles.DEFAULT_MAX_BYTES + 1));
    String deep = "[".repeat(JsonFiles.MAX_DEPTH + 1) + "]".repeat(JsonFiles.MAX_DEPTH + 1);
    assertThrows(IllegalArgumentException.class, () -> JsonFiles.parse(deep));
    String ok = "[".repeat(JsonFiles.MAX_DEPTH) + "]".repeat(JsonFiles.MAX_DEPTH);
    assertTrue(JsonFiles.parse(ok).isArray());
    Files.writeString(f, "{\"a\": }");
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> JsonFiles.readTree(f));
    assertTrue(bad.getMessage().startsWith(f + ": malformed JSON at line 1"), bad.getMessage());
  }

  @Test
  void layouts() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("name", "run \"1\"\t");
    root.put("count", 2);
    root.put("nested", Map.of("k", 1));
    root.put("rows", List.of(new Row("a", 0.1, 1), new Row("b", 2.0, 2)));
    root.put("empty", List.of());
    assertEquals("{\n"
        + "  \"name\": \"run \\\"1\\\"\\t\",\n"
        + "  \"count\": 2,\n"
        + "  \"nested\": {\"k\": 1},\n"
        + "  \"rows\": [\n"
        + "    {\"name\": \"a\", \"value\": 0.1, \"count\": 1},\n"
        + "    {\"name\": \"b\", \"value\": 2.0, \"count\": 2}\n"
        + "  ],\n"
        + "  \"empty\": []\n"
        + "}\n", JsonFiles.toPretty(root));
    assertEquals("{\"name\": \"run \\\"1\\\"\\t\", \"count\": 2, \"nested\": {\"k\": 1}, \"rows\": [{\"name\": \"a\", "
        + "\"value\": 0.1, \"count\": 1}, {\"name\": \"b\", \"value\": 2.0, \"count\": 2}], \"empty\": []}",
        JsonFiles.toLine(root));
    assertEquals("{\"name\":\"a\",\"value\":0.1,\"count\":1}", JsonFiles.toCompact(new Row("a", 0.1, 1)));
    assertEquals("{}\n", JsonFiles.toPretty(Map.of()));
    assertEquals("{\"x\": 12.50}", JsonFiles.toLine(Map.of("x", new BigDecimal("12.50"))));
    assertEquals("{\"x\": 0.00000100}", JsonFiles.toLine(Map.of("x", new BigDecimal("1.00E-6"))), "plain decimals");
  }

  @Test
  void nonFiniteNumbersAreNullAndFiniteOnesRoundTrip() throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("nan", Double.NaN);
    m.put("inf", Double.NEGATIVE_INFINITY);
    m.put("fnan", Float.NaN);
    m.put("third", 1.0 / 3);
    m.put("tiny", 1e-300);
    String s = JsonFiles.toCompact(m);
    assertEquals("{\"nan\":null,\"inf\":null,\"fnan\":null,\"third\":0.3333333333333333,\"tiny\":1.0E-300}", s);
    assertEquals("{\"name\":\"x\",\"value\":null,\"count\":0}", JsonFiles.toCompact(new Row("x", Double.NaN, 0)),
        "primitive record components too");
    JsonNode back = JsonFiles.parse(s);
    assertEquals(1.0 / 3, back.get("third").doubleValue(), 0.0);
    assertEquals(1e-300, back.get("tiny").doubleValue(), 0.0);
    Row row = JsonFiles.mapper().treeToValue(JsonFiles.parse("{\"name\": \"x\", \"value\": null, \"count\": 3}"),
        Row.class);
    assertTrue(Double.isNaN(row.value()), "null reads back as NaN into a double");
    assertEquals(new Row("y", 0.25, 1), JsonFiles.mapper().treeToValue(
        JsonFiles.parse(JsonFiles.toCompact(new Row("y", 0.25, 1))), Row.class));
    assertThrows(Exception.class, () -> JsonFiles.mapper().treeToValue(
        JsonFiles.parse("{\"name\": \"x\", \"value\": \"1.5\", \"count\": 3}"), Row.class), "no string coercion");
    assertThrows(Exception.class, () -> JsonFiles.mapper().treeToValue(
        JsonFiles.parse("{\"name\": \"x\", \"value\": 1.5}"), Row.class), "every member required");
    assertThrows(Exception.class, () -> JsonFiles.mapper().treeToValue(
        JsonFiles.parse("{\"name\": \"x\", \"value\": 1.5, \"count\": null}"), Row.class), "null int");
  }

  @Test
  void writesAtomicallyWithTheLayouts(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("sub/a.json");
    JsonFiles.writePretty(f, Map.of("a", 1));
    assertEquals("{\n  \"a\": 1\n}\n", Files.readString(f));
    JsonFiles.writeLine(f, Map.of("a", 1));
    assertEquals("{\"a\": 1}\n", Files.readString(f));
    Path l = tmp.resolve("b.jsonl");
    JsonFiles.writeLines(l, List.of(Map.of("a", 1), List.of(1, 2)));
    assertEquals(List.of("{\"a\": 1}", "[1, 2]"), Files.readAllLines(l, StandardCharsets.UTF_8));
    JsonFiles.writeLines(l, List.of());
    assertEquals(0, Files.size(l));
  }
}
