/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Paths through their symbolic links, for the project's "is this the same file or folder" checks (an output that
 * would overwrite an input, an output folder inside the input, a run folder inside a dataset), where the path need
 * not exist yet.
 */
public final class RealPaths {
  private RealPaths() {}

  /**
   * @param p a path, existing or not
   * @return the real path of its longest existing prefix with the rest appended (the real path itself when it exists;
   *     the normalised absolute path when nothing of it can be resolved)
   */
  public static Path of(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    Path existing = abs;
    while (existing != null && !Files.exists(existing)) existing = existing.getParent();
    if (existing == null) return abs;
    try {
      return existing.toRealPath().resolve(existing.relativize(abs));
    } catch (IOException e) {
      return abs;
    }
  }

  /**
   * @param a a path
   * @param b another
   * @return whether they name the same file: {@link Files#isSameFile} when both exist, else equal {@link #of} forms
   */
  public static boolean same(Path a, Path b) {
    try {
      if (Files.exists(a) && Files.exists(b)) return Files.isSameFile(a, b);
    } catch (IOException e) {
      // compare the paths below
    }
    return of(a).equals(of(b));
  }
}
