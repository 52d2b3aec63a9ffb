/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.util.List;

/**
 * A paired dataset is inconsistent: files without a partner, files whose stem another file in their folder has,
 * unreadable files, pairs whose two images differ in size, or a folder layout that is not recognised. The message
 * lists every problem (up to a cap per kind, with counts); the lists are also available as fields.
 */
public class DatasetException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private static final int MAX_LISTED = 20;

  private final List<String> lowWithoutHigh;
  private final List<String> highWithoutLow;
  private final List<String> duplicateStems;
  private final List<String> unreadable;
  private final List<String> sizeMismatch;

  /**
   * @param message a plain message (layout problems)
   */
  public DatasetException(String message) {
    super(message);
    this.lowWithoutHigh = List.of();
    this.highWithoutLow = List.of();
    this.duplicateStems = List.of();
    this.unreadable = List.of();
    this.sizeMismatch = List.of();
  }

  /**
   * @param what which dataset ("LOL-v1 train at /data/LOL")
   * @param lowWithoutHigh low-light files with no normal-light partner
   * @param highWithoutLow normal-light files with no low-light partner
   * @param unreadable "path: reason" for files that failed the header check
   * @param sizeMismatch "name: low WxH, high WxH" for pairs whose sizes differ
   */
  public DatasetException(String what, List<String> lowWithoutHigh, List<String> highWithoutLow,
      List<String> unreadable, List<String> sizeMismatch) {
    this(what, "normal-light", lowWithoutHigh, highWithoutLow, unreadable, sizeMismatch);
  }

  /**
   * @param what which dataset
   * @param partner what the second folder's files are ("normal-light", "enhanced")
   * @param lowWithoutHigh low-light files with no partner
   * @param highWithoutLow partner files with no low-light file
   * @param unreadable "path: reason" for files that failed the header check
   * @param sizeMismatch "name: low WxH (path), high WxH (path)" for pairs whose sizes differ
   */
  public DatasetException(String what, String partner, List<String> lowWithoutHigh, List<String> highWithoutLow,
      List<String> unreadable, List<String> sizeMismatch) {
    this(what, partner, lowWithoutHigh, highWithoutLow, List.of(), unreadable, sizeMismatch);
  }

  /**
   * @param what which dataset
   * @param partner what the second folder's files are ("normal-light", "enhanced")
   * @param lowWithoutHigh low-light files with no partner
   * @param highWithoutLow partner files with no low-light file
   * @param duplicateStems "path: same stem as NAME" for files that could pair with the same partner as another file
   *     of their folder
   * @param unreadable "path: reason" for files that failed the header check
   * @param sizeMismatch "name: low WxH (path), high WxH (path)" for pairs whose sizes differ
   */
  public DatasetException(String what, String partner, List<String> lowWithoutHigh, List<String> highWithoutLow,
      List<String> duplicateStems, List<String> unreadable, List<String> sizeMismatch) {
    super(format(what, partner, lowWithoutHigh, highWithoutLow, duplicateStems, unreadable, sizeMismatch));
    this.lowWithoutHigh = List.copyOf(lowWithoutHigh);
    this.highWithoutLow = List.copyOf(highWithoutLow);
    this.duplicateStems = List.copyOf(duplicateStems);
    this.unreadable = List.copyOf(unreadable);
    this.sizeMismatch = List.copyOf(sizeMismatch);
  }

  private static String format(String what, String partner, List<String> lo, List<String> hi, List<String> dup,
      List<String> bad, List<String> size) {
    StringBuilder sb = new StringBuilder("inconsistent paired dataset ").append(what).append(':');
    section(sb, "low-light files without " + (partner.matches("[aeiou].*") ? "an " : "a ") + partner + " partner", lo);
    section(sb, partner + " files without a low-light partner", hi);
    section(sb, "files with the same stem as another file in their folder (ambiguous pairs)", dup);
    section(sb, "unreadable files", bad);
    section(sb, "pairs whose images differ in size", size);
    return sb.toString();
  }

  private static void section(StringBuilder sb, String title, List<String> items) {
    if (items.isEmpty()) return;
    sb.append("\n  ").append(items.size()).append(' ').append(title).append(':');
    for (int i = 0; i < Math.min(MAX_LISTED, items.size()); i++) sb.append("\n    ").append(items.get(i));
    if (items.size() > MAX_LISTED) sb.append("\n    ... and ").append(items.size() - MAX_LISTED).append(" more");
  }

  /** @return low-light files with no partner */
  public List<String> lowWithoutHigh() {
    return lowWithoutHigh;
  }

  /** @return normal-light files with no partner */
  public List<String> highWithoutLow() {
    return highWithoutLow;
  }

  /** @return "path: same stem as NAME" of files whose stem another file of their folder has */
  public List<String> duplicateStems() {
    return duplicateStems;
  }

  /** @return "path: reason" of unreadable files */
  public List<String> unreadable() {
    return unreadable;
  }

  /** @return "name: sizes" of pairs with different sizes */
  public List<String> sizeMismatch() {
    return sizeMismatch;
  }
}
