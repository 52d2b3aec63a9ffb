/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link MiniJson}: values, escapes, and errors. */
class MiniJsonTest {
  @Test
  @SuppressWarnings("unchecked")
  void parsesValues() {
    Map<String, Object> m = (Map<String, Object>) MiniJson.parse(
        " {\"a\": 1, \"b\": -2.5e-1, \"c\": [1, 2, 3], \"d\": {\"e\": true, \"f\": null},"
            + " \"g\": \"x\\\"y\\u00e9\\n\", \"h\": [], \"i\": 99999999999999999999} ");
    assertEquals(1L, m.get("a"));
    assertEquals(-0.25, m.get("b"));
    assertArrayEquals(new int[] {1, 2, 3}, MiniJson.intArray(m, "c"));
    assertEquals(Boolean.TRUE, MiniJson.object(m, "d").get("e"));
    assertNull(MiniJson.object(m, "d").get("f"));
    assertEquals("x\"yé\n", MiniJson.string(m, "g"));
    assertEquals(List.of(), m.get("h"));
    assertEquals(1e20, (Double) m.get("i"), 1e5);
    assertEquals(List.of("a", "b", "c", "d", "g", "h", "i"), List.copyOf(m.keySet()));
  }

  @Test
  @SuppressWarnings("unchecked")
  void rejectsMalformedInputAndWrongTypes() {
    assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("{\"a\": 1,}"));
    assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("[1 2]"));
    assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("{\"a\": 1} x"));
    assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("\"open"));
    Map<String, Object> m = (Map<String, Object>) MiniJson.parse("{\"a\": 1.5, \"s\": \"t\"}");
    assertThrows(IllegalArgumentException.class, () -> MiniJson.integer(m, "a"));
    assertThrows(IllegalArgumentException.class, () -> MiniJson.integer(m, "missing"));
    assertThrows(IllegalArgumentException.class, () -> MiniJson.object(m, "s"));
  }
}
