/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.Function;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Java port of {@code torch.autograd.gradcheck} (STYLE B3a): compares the analytical vector-Jacobian product of a
 * function with central finite differences, in float64.
 *
 * <p>For outputs y_j = f(x) and random upstream gradients u_j (standard normal, seeded), the scalar
 * {@code s(x) = Σ_j <u_j, y_j>} is differentiated twice: analytically via {@code autograd::grad} and numerically by
 * {@code (s(x + eps e_k) − s(x − eps e_k)) / (2 eps)} for every element k of every input that requires grad. Passes
 * when {@code |analytic − numeric| ≤ atol + rtol·|numeric|} everywhere (torch's defaults: eps 1e-6, atol 1e-5,
 * rtol 1e-3).
 */
public final class GradCheck {
  /** Finite-difference step (torch.autograd.gradcheck default). */
  public static final double EPS = 1e-6;
  /** Absolute tolerance (torch default). */
  public static final double ATOL = 1e-5;
  /** Relative tolerance (torch default). */
  public static final double RTOL = 1e-3;

  private GradCheck() {}

  /**
   * @param name label for messages
   * @param f the function (must be deterministic); receives the inputs array, returns its outputs
   * @param inputs float64 CPU contiguous leaves; those with {@code requires_grad} are checked (null entries allowed)
   * @param seed seed of the random upstream gradients
   */
  public static void check(String name, Function<Tensor[], Tensor[]> f, Tensor[] inputs, long seed) {
    try (PointerScope scope = new PointerScope()) {
      for (Tensor t : inputs) {
        if (t != null && t.scalar_type().value != ScalarType.Double.value) {
          throw new IllegalArgumentException(name + ": gradcheck needs float64 inputs");
        }
      }
      // Analytical: one autograd::grad of s = sum_j <u_j, y_j>.
      Tensor[] outs = f.apply(inputs);
      torch.manual_seed(seed);
      Tensor[] ups = new Tensor[outs.length];
      Tensor s = null;
      for (int j = 0; j < outs.length; j++) {
        ups[j] = torch.randn(Tensors.shape(outs[j])).to(ScalarType.Double);
        Tensor term = outs[j].mul(ups[j]).sum();
        s = s == null ? term : s.add(term);
      }
      TensorVector wrt = new TensorVector();
      int[] which = new int[inputs.length];
      int n = 0;
      for (int i = 0; i < inputs.length; i++) {
        if (inputs[i] != null && inputs[i].requires_grad()) {
          wrt.push_back(inputs[i]);
          which[n++] = i;
        }
      }
      if (n == 0) throw new IllegalArgumentException(name + ": no input requires grad");
      TensorVector analytic =
          torch.grad(new TensorVector(s), wrt, new TensorVector(), new org.bytedeco.pytorch.BoolOptional(false),
              false, true);

      // Numerical: perturb detached copies element by element.
      Tensor[] probe = new Tensor[inputs.length];
      for (int i = 0; i < inputs.length; i++) probe[i] = inputs[i] == null ? null : inputs[i].detach().clone();
      for (int q = 0; q < n; q++) {
        int i = which[q];
        Tensor a = analytic.get(q);
        double[] an = a.defined() ? Tensors.toDoubles(a) : new double[(int) inputs[i].numel()];
        DoublePointer p = probe[i].data_ptr_double();
        StringBuilder bad = new StringBuilder();
        int nBad = 0;
        double maxErr = 0;
        for (int k = 0; k < an.length; k++) {
          double orig = p.get(k);
          p.put(k, orig + EPS);
          double plus = value(f, probe, ups);
          p.put(k, orig - EPS);
          double minus = value(f, probe, ups);
          p.put(k, orig);
          double num = (plus - minus) / (2 * EPS);
          double err = Math.abs(an[k] - num);
          maxErr = Math.max(maxErr, err);
          if (!(err <= ATOL + RTOL * Math.abs(num))) {
            if (nBad < 6) bad.append(String.format("%n  element %d: analytic %.10g numeric %.10g", k, an[k], num));
            nBad++;
          }
        }
        if (nBad > 0) {
          fail(String.format("%s (seed %d): gradient of input %d wrong in %d of %d elements (max |diff| %.3g):%s",
              name, seed, i, nBad, an.length, maxErr, bad));
        }
      }
    }
  }

  private static double value(Function<Tensor[], Tensor[]> f, Tensor[] x, Tensor[] ups) {
    try (PointerScope scope = new PointerScope();
        NoGradGuard guard = new NoGradGuard()) {
      Tensor[] outs = f.apply(x);
      double s = 0;
      for (int j = 0; j < outs.length; j++) s += outs[j].mul(ups[j]).sum().item_double();
      return s;
    }
  }
}
