/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import org.deepspg.ops.NativeLibrary;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Extracts libtorch into the JavaCPP cache before the first test runs (registered in
 * {@code META-INF/services/org.junit.platform.launcher.LauncherSessionListener}). Many tests touch
 * {@code org.bytedeco.pytorch} classes before any project code, and with an empty cache (a fresh CI machine) that
 * first load crashed the test JVM; see {@link NativeLibrary#extractLibraries()}.
 */
public final class ExtractNativeLibraries implements LauncherSessionListener {
  @Override
  public void launcherSessionOpened(LauncherSession session) {
    NativeLibrary.extractLibraries();
  }
}
