/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The analytic counter against {@code shared/design/count.py} (its exact integer MAC totals, printed with
 * {@code python3 count.py} and {@code count.tot(count.deepspg(C, ...))}) and the spec's §1.7 table.
 */
class FlopCounterTest {
  /** The brief's acceptance band around the spec's 6.63 / 24.77 G. */
  private static final double REL_TOL_SPEC = 0.02;

  @Test
  void sAndLAt256MatchSpecAndCountPy() {
    double s = FlopCounter.gflops(DeepSPGConfig.s(), 256, 256);
    double l = FlopCounter.gflops(DeepSPGConfig.l(), 256, 256);
    assertTrue(Math.abs(s / 6.63 - 1) <= REL_TOL_SPEC, "S " + s);
    assertTrue(Math.abs(l / 24.77 - 1) <= REL_TOL_SPEC, "L " + l);
    assertEquals("6.630", String.format(Locale.ROOT, "%.3f", s));
    assertEquals("24.771", String.format(Locale.ROOT, "%.3f", l));
    // count.py: S 7,118,848,000 MACs; L 26,597,785,600 MACs (exact integers).
    assertEquals(7_118_848_000L, FlopCounter.macs(DeepSPGConfig.s(), 256, 256));
    assertEquals(26_597_785_600L, FlopCounter.macs(DeepSPGConfig.l(), 256, 256));
  }

  @Test
  void variantsMatchCountPy() {
    // count.py deepspg(C, q_dense=True) / nb=(1,2,2) / e=2.66 at 256x256; spec table G: 7.69/29.09 and 5.80/21.75.
    assertEquals(8_260_157_440L, FlopCounter.macs(DeepSPGConfig.s().withSemQDense(true), 256, 256));
    assertEquals(31_239_700_480L, FlopCounter.macs(DeepSPGConfig.l().withSemQDense(true), 256, 256));
    assertEquals(6_230_179_840L, FlopCounter.macs(DeepSPGConfig.s().withBlocks(1, 2, 2), 256, 256));
    assertEquals(23_352_442_880L, FlopCounter.macs(DeepSPGConfig.l().withBlocks(1, 2, 2), 256, 256));
    assertEquals(7_424_278_528L, FlopCounter.macs(DeepSPGConfig.s().withSemFfnExpansion(2.66), 256, 256));
    assertEquals(27_721_867_264L, FlopCounter.macs(DeepSPGConfig.l().withSemFfnExpansion(2.66), 256, 256));
    assertEquals("7.69", String.format(Locale.ROOT, "%.2f",
        FlopCounter.gflops(DeepSPGConfig.s().withSemQDense(true), 256, 256)));
    assertEquals("21.75", String.format(Locale.ROOT, "%.2f",
        FlopCounter.gflops(DeepSPGConfig.l().withBlocks(1, 2, 2), 256, 256)));
  }

  @Test
  void rowsMatchCountPyBreakdown() {
    List<FlopCounter.Row> rows = FlopCounter.breakdown(DeepSPGConfig.s(), 256, 256);
    assertEquals(24, rows.size());
    // Rows of `python3 count.py` for C=20: name, params, GMACs to 4 decimals.
    check(rows.get(0), "illumination estimator", 2_683, "0.1611");
    check(rows.get(2), "enc L0 IGAB[0] d=20", 5_941, "0.4138");
    check(rows.get(4), "enc L0 SEM d=20 s=48", 6_361, "0.3931");
    check(rows.get(8), "enc L1 SEM d=40 s=96", 22_642, "0.3204");
    check(rows.get(12), "bottleneck L2 SEM d=80 s=192", 84_964, "0.2841");
    check(rows.get(13), "up L2->L1 convT2x2 80->40", 12_840, "0.0488");
    check(rows.get(23), "mapping 3x3 C->3", 540, "0.0330");
  }

  @Test
  void otherSizesAndBaseline() {
    // count.py deepspg(20, H=64, W=96): 667,392,000 MACs.
    assertEquals(667_392_000L, FlopCounter.macs(DeepSPGConfig.s(), 64, 96));
    // Every term scales with H·W (adapter at HRNet resolution included).
    assertEquals(4 * FlopCounter.macs(DeepSPGConfig.l(), 256, 256), FlopCounter.macs(DeepSPGConfig.l(), 512, 512));
    // Baseline = the rows without SEMs.
    long sems = 0;
    for (FlopCounter.Row r : FlopCounter.breakdown(DeepSPGConfig.s(), 256, 256)) {
      if (r.name().contains("SEM")) {
        sems += r.macs();
      }
    }
    assertEquals(7_118_848_000L - sems, FlopCounter.macs(DeepSPGConfig.baseline(DeepSPGConfig.Size.S), 256, 256));
    assertThrows(IllegalArgumentException.class, () -> FlopCounter.gflops(DeepSPGConfig.s(), 250, 256));
  }

  private static void check(FlopCounter.Row r, String name, long params, String g4) {
    assertEquals(name, r.name());
    assertEquals(params, r.params(), name);
    assertEquals(g4, String.format(Locale.ROOT, "%.4f", r.gmacs()), name);
  }
}
