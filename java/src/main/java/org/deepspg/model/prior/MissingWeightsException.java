/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The weights of a frozen prior network (HRNet-W48 ADE20K or CLIP ViT-B/16) are missing or unusable: no path,
 * file not found, not a PyTorch checkpoint, or a checkpoint of another model. The message says which official
 * file is expected, what DeepSPG uses it for and how to run without it (see {@link PriorWeights}).
 */
public class MissingWeightsException extends IOException {
  private static final long serialVersionUID = 1L;

  private final PriorWeights weights;
  private final transient Path path;
  private final String expectedFile;
  private final String problem;

  /**
   * @param weights which prior
   * @param path the path the user gave (may be null)
   * @param message the full, user-facing message
   * @param cause the underlying error, or null
   */
  public MissingWeightsException(PriorWeights weights, Path path, String message, Throwable cause) {
    this(weights, path, message, cause, weights.fileName());
  }

  /**
   * @param weights which prior
   * @param path the path the user gave (may be null)
   * @param message the full, user-facing message
   * @param cause the underlying error, or null
   * @param expectedFile the file that fits, when it is known more precisely than {@link PriorWeights#fileName()}
   *     (e.g. the ESPNetv2 scale a model's SEMs were trained with)
   */
  public MissingWeightsException(PriorWeights weights, Path path, String message, Throwable cause,
      String expectedFile) {
    this(weights, path, message, cause, expectedFile, null);
  }

  /**
   * @param weights which prior
   * @param path the path the user gave (may be null)
   * @param message the full, user-facing message
   * @param cause the underlying error, or null
   * @param expectedFile the file that fits
   * @param problem what is wrong with {@code path} in a few words ("file not found"), or null
   */
  public MissingWeightsException(PriorWeights weights, Path path, String message, Throwable cause,
      String expectedFile, String problem) {
    super(message, cause);
    this.weights = weights;
    this.path = path;
    this.expectedFile = expectedFile;
    this.problem = problem;
  }

  /**
   * What is wrong with the given file, for one-line messages.
   *
   * @return e.g. "file not found", or null when not known
   */
  public String problem() {
    return problem;
  }

  /**
   * The file the user should pass.
   *
   * @return the official file name that fits
   */
  public String expectedFile() {
    return expectedFile;
  }

  /**
   * The same failure naming another expected file (a model's SEMs know which ESPNetv2 scale fits them; the
   * prior's loader does not).
   *
   * @param file the official file that fits
   * @return a new exception with the message's "Expected" line naming {@code file}
   */
  public MissingWeightsException expecting(String file) {
    String msg = getMessage().replace("Expected " + expectedFile + ":", "Expected " + file + ":");
    MissingWeightsException e = new MissingWeightsException(weights, path, msg, getCause(), file, problem);
    e.setStackTrace(getStackTrace());
    return e;
  }

  /**
   * Which prior network's weights are missing.
   *
   * @return the prior
   */
  public PriorWeights weights() {
    return weights;
  }

  /**
   * The path that was given.
   *
   * @return the path, or null when none was configured
   */
  public Path path() {
    return path;
  }
}
