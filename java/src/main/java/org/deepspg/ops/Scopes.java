/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * Lets a result escape a method's inner {@link PointerScope} (STYLE B6). Pattern:
 *
 * <pre>{@code
 * PointerScope outer = PointerScope.getInnerScope();   // before opening the inner scope
 * try (PointerScope inner = new PointerScope()) {
 *   Tensor result = ...temporaries...;
 *   return Scopes.escape(result, outer);
 * }
 * }</pre>
 *
 * <p>With an outer scope the result then belongs to it; without one it is left to the garbage collector (or an
 * explicit {@code close()} by the caller). Never use {@code PointerScope.detach} for this: it releases a reference.
 */
public final class Scopes {
  private Scopes() {}

  /**
   * @param result a pointer created inside the inner scope
   * @param outer the scope that was innermost before the inner scope opened (may be null)
   * @param <P> pointer type
   * @return {@code result}, now owned by {@code outer} as well (the inner scope's close drops only its own reference)
   */
  public static <P extends Pointer> P escape(P result, PointerScope outer) {
    if (result == null) return null;
    if (outer != null) outer.attach(result);
    else result.retainReference();
    return result;
  }
}
