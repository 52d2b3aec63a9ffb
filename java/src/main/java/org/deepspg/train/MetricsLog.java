/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deepspg.io.AtomicFile;

/**
 * Appends one JSON object per line ({@code metrics.jsonl}) for every record, and keeps the records in memory for the
 * plots. Each record has a {@code kind} ("train" or "val") and numeric fields. On resume the existing file is read
 * back and records after the resumed step are dropped, so the log matches the weights.
 */
public final class MetricsLog implements AutoCloseable {
  /** One logged record. */
  public record Entry(String kind, Map<String, Double> values) {}

  private final Path file;
  private final List<Entry> entries = new ArrayList<>();
  private BufferedWriter out;

  /**
   * @param file the JSONL file (created if absent)
   * @param resumeStep when resuming, keep only records with step &lt;= this (-1: start a new log)
   * @throws IOException on I/O failure
   */
  public MetricsLog(Path file, long resumeStep) throws IOException {
    this.file = file;
    Files.createDirectories(file.toAbsolutePath().getParent());
    if (resumeStep >= 0 && Files.exists(file)) {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        Entry e = parse(line);
        if (e != null && e.values.getOrDefault("step", 0.0) <= resumeStep) entries.add(e);
      }
    }
    // Rewrite what we keep (drops records of work lost since the last checkpoint).
    AtomicFile.write(file, o -> {
      for (Entry e : entries) o.write((format(e) + "\n").getBytes(StandardCharsets.UTF_8));
    });
    out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  /**
   * Appends a record and flushes it.
   *
   * @param kind "train" or "val"
   * @param values field name to number (insertion order kept)
   * @throws IOException on I/O failure
   */
  public synchronized void log(String kind, Map<String, Double> values) throws IOException {
    Entry e = new Entry(kind, new LinkedHashMap<>(values));
    entries.add(e);
    out.write(format(e));
    out.newLine();
    out.flush();
  }

  /** @return all records so far (including those read back on resume) */
  public synchronized List<Entry> entries() {
    return List.copyOf(entries);
  }

  /** @return the JSONL path */
  public Path file() {
    return file;
  }

  static String format(Entry e) {
    StringBuilder sb = new StringBuilder("{\"kind\":\"").append(e.kind).append('"');
    for (Map.Entry<String, Double> v : e.values.entrySet()) {
      double d = v.getValue();
      sb.append(",\"").append(v.getKey()).append("\":");
      sb.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.8g", d) : "null");
    }
    return sb.append('}').toString();
  }

  /** Parses a line written by {@link #format}; returns null for anything else. */
  static Entry parse(String line) {
    line = line.trim();
    if (!line.startsWith("{") || !line.endsWith("}")) return null;
    String kind = null;
    LinkedHashMap<String, Double> values = new LinkedHashMap<>();
    for (String part : line.substring(1, line.length() - 1).split(",")) {
      int colon = part.indexOf(':');
      if (colon < 0) return null;
      String k = part.substring(0, colon).trim().replace("\"", "");
      String v = part.substring(colon + 1).trim();
      if (k.equals("kind")) {
        kind = v.replace("\"", "");
      } else {
        values.put(k, v.equals("null") ? Double.NaN : Double.parseDouble(v));
      }
    }
    return kind == null ? null : new Entry(kind, values);
  }

  @Override
  public synchronized void close() throws IOException {
    if (out != null) out.close();
    out = null;
  }
}
