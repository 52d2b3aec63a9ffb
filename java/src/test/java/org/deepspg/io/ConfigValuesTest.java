/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deepspg.data.DatasetLayouts;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.ops.EdgeOperator;
import org.deepspg.ops.PriorMode;
import org.junit.jupiter.api.Test;

/** The shared boolean and enum parser: every accepted spelling, and the messages for everything else. */
class ConfigValuesTest {
  @Test
  void everyBooleanSpellingInAnyCase() {
    for (String t : List.of("true", "on", "yes", "1")) {
      for (String v : List.of(t, t.toUpperCase(java.util.Locale.ROOT), capitalised(t), "  " + t + "\t")) {
        assertTrue(ConfigValues.bool("k", v), "'" + v + "'");
      }
    }
    for (String f : List.of("false", "off", "no", "0")) {
      for (String v : List.of(f, f.toUpperCase(java.util.Locale.ROOT), capitalised(f), " " + f + " ")) {
        assertFalse(ConfigValues.bool("k", v), "'" + v + "'");
      }
    }
  }

  @Test
  void badBooleansNameTheKeyTheValueAndTheSpellings() {
    for (String bad : List.of("", "maybe", "2", "-1", "t", "y", "enabled", "truee", "o n")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ConfigValues.bool("c2f.enabled", bad));
      assertEquals("config key 'c2f.enabled' must be true or false (also on/off, yes/no, 1/0), got '" + bad + "'",
          e.getMessage());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigValues.bool("plots", null));
    assertTrue(e.getMessage().startsWith("config key 'plots' must be true or false"), e.getMessage());
  }

  @Test
  void enumsByNameCaseInsensitiveWithDashOrUnderscore() {
    assertEquals(PriorMode.MAX, ConfigValues.enumValue("retinex.prior", "max", PriorMode.class));
    assertEquals(PriorMode.MEAN, ConfigValues.enumValue("retinex.prior", " MeAn ", PriorMode.class));
    assertEquals(EdgeOperator.SOBEL, ConfigValues.enumValue("loss.edge.operator", "SOBEL", EdgeOperator.class));
    assertEquals(InputNorm.NONE, ConfigValues.enumValue("hrnet.input_norm", "None", InputNorm.class));
    assertEquals(DatasetLayouts.Layout.LOL_V2_REAL,
        ConfigValues.enumValue("k", "lol-v2-real", DatasetLayouts.Layout.class));
    assertEquals(DatasetLayouts.Layout.LOL_V2_REAL,
        ConfigValues.enumValue("k", "LOL_V2_REAL", DatasetLayouts.Layout.class));
    assertEquals("lol-v2-real", ConfigValues.text(DatasetLayouts.Layout.LOL_V2_REAL));
    assertEquals("mean", ConfigValues.text(PriorMode.MEAN));
    for (PriorMode m : PriorMode.values()) {
      assertEquals(m, ConfigValues.enumValue("k", ConfigValues.text(m), PriorMode.class), "text round-trips");
    }
  }

  @Test
  void badEnumsListTheAllowedValues() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ConfigValues.enumValue("retinex.prior", "median", PriorMode.class));
    assertEquals("config key 'retinex.prior' must be mean or max, got 'median'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> ConfigValues.enumValue("k", "lol", DatasetLayouts.Layout.class));
    assertEquals("config key 'k' must be lol-v1, lol-v2-real, lol-v2-synthetic, split-folders or flat, got 'lol'",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> ConfigValues.oneOf("device", "gpu", List.of("cpu", "cuda"), s -> s));
    assertEquals("config key 'device' must be cpu or cuda, got 'gpu'", e.getMessage());
    assertEquals("a", ConfigValues.orList(List.of("a")));
    assertEquals("a, b or c", ConfigValues.orList(List.of("a", "b", "c")));
  }

  private static String capitalised(String s) {
    return s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1);
  }
}
