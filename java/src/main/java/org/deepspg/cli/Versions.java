/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** Versions of DeepSPG-Java and the native stack it runs on. */
public final class Versions implements IVersionProvider {
  /** DeepSPG-Java's version. */
  public static final String DEEPSPG = "0.1.0-SNAPSHOT";

  @Override
  public String[] getVersion() {
    return new String[] {"deepspg " + DEEPSPG, "libtorch (bytedeco pytorch) " + pytorchArtifact(), "javacpp " + javacpp()};
  }

  /** @return the bytedeco pytorch artifact version on the class path, e.g. "2.10.0-1.5.13" */
  public static String pytorchArtifact() {
    return mavenVersion("org.bytedeco", "pytorch");
  }

  /** @return the javacpp version on the class path */
  public static String javacpp() {
    return mavenVersion("org.bytedeco", "javacpp");
  }

  private static String mavenVersion(String group, String artifact) {
    String res = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
    try (InputStream in = Versions.class.getResourceAsStream(res)) {
      if (in == null) return "unknown";
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }
}
