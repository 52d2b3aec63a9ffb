/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Compares an op with its oracle, forward and gradients (STYLE B3b): both run on their own copies of the same
 * leaves, both are back-propagated with the same random upstream gradient, and every output and input gradient is
 * compared with {@code |a − b| ≤ tol · max(1, max|b|)} (the spec's "max-abs error relative to max(1, ‖ref‖∞)" rule),
 * or purely relative to {@code max|b|} with the {@code scaleFloor} overload.
 */
public final class Parity {
  private Parity() {}

  /**
   * @param label for messages
   * @param ours the op under test; receives leaves (it may permute or slice them first)
   * @param oracle the reference; receives its own copies of the leaves
   * @param leaves input data (entries may be null); those with {@code requires_grad} get gradients compared
   * @param fwdTol forward tolerance factor
   * @param gradTol gradient tolerance factor
   * @param seed seed of the upstream gradient
   */
  public static void check(String label, Function<Tensor[], Tensor[]> ours, Function<Tensor[], Tensor[]> oracle,
      Tensor[] leaves, double fwdTol, double gradTol, long seed) {
    check(label, ours, oracle, leaves, fwdTol, gradTol, seed, 1.0);
  }

  /**
   * Same as {@link #check(String, Function, Function, Tensor[], double, double, long)} with tolerances
   * {@code tol · max(scaleFloor, max|ref|)}: {@code scaleFloor = 0} makes them purely relative to the reference's
   * largest magnitude (for losses, whose gradients are O(1/numel)).
   *
   * @param label for messages
   * @param ours the op under test
   * @param oracle the reference
   * @param leaves input data
   * @param fwdTol forward tolerance factor
   * @param gradTol gradient tolerance factor
   * @param seed seed of the upstream gradient
   * @param scaleFloor lower bound of the tolerance scale
   */
  public static void check(String label, Function<Tensor[], Tensor[]> ours, Function<Tensor[], Tensor[]> oracle,
      Tensor[] leaves, double fwdTol, double gradTol, long seed, double scaleFloor) {
    try (PointerScope scope = new PointerScope()) {
      Tensor[] a = copies(leaves), b = copies(leaves);
      Tensor[] oa = ours.apply(a), ob = oracle.apply(b);
      torch.manual_seed(seed);
      Tensor sa = null, sb = null;
      for (int j = 0; j < oa.length; j++) {
        Tensor ref = ob[j].detach();
        Tensors.assertClose(label + " output " + j, oa[j].detach(), ref, 0, fwdTol * Math.max(scaleFloor, Tensors.maxAbs(ref)));
        Tensor up = torch.randn(Tensors.shape(ob[j])).to(ob[j].scalar_type());
        Tensor ta = oa[j].mul(up).sum(), tb = ob[j].mul(up).sum();
        sa = sa == null ? ta : sa.add(ta);
        sb = sb == null ? tb : sb.add(tb);
      }
      boolean any = false;
      for (Tensor t : leaves) any |= t != null && t.requires_grad();
      if (!any) return;
      sa.backward();
      sb.backward();
      for (int i = 0; i < leaves.length; i++) {
        if (leaves[i] == null || !leaves[i].requires_grad()) continue;
        Tensor ref = b[i].grad();
        if (ref == null || !ref.defined()) ref = torch.zeros_like(b[i]);
        Tensor got = a[i].grad();
        Tensors.assertClose(label + " grad of input " + i, got, ref, 0, gradTol * Math.max(scaleFloor, Tensors.maxAbs(ref)));
      }
    }
  }

  private static Tensor[] copies(Tensor[] leaves) {
    Tensor[] c = new Tensor[leaves.length];
    for (int i = 0; i < leaves.length; i++) {
      if (leaves[i] == null) continue;
      c[i] = leaves[i].detach().clone().requires_grad_(leaves[i].requires_grad());
    }
    return c;
  }
}
