/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import org.deepspg.ops.OneDnn;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/** The {@code --onednn on|off|auto} option of every command that runs a network (a picocli mixin). */
public final class OneDnnOption {
  @Option(names = "--onednn", paramLabel = "on|off|auto", defaultValue = "auto", converter = ModeConverter.class,
      description = "libtorch's oneDNN CPU kernels: auto (default) = only if a self-check on this machine shows they "
          + "compute the same results as the fallback (they do not on some CPUs); off = never; on = unchecked.")
  OneDnn.Mode mode = OneDnn.Mode.AUTO;

  /** @return the chosen mode */
  public OneDnn.Mode mode() {
    return mode;
  }

  /** Parses on/off/auto case-insensitively, with the message of {@link OneDnn.Mode#parse}. */
  static final class ModeConverter implements ITypeConverter<OneDnn.Mode> {
    @Override
    public OneDnn.Mode convert(String value) {
      try {
        return OneDnn.Mode.parse(value);
      } catch (IllegalArgumentException e) { // picocli prints this one's message alone, not wrapped in its class
        throw new picocli.CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
