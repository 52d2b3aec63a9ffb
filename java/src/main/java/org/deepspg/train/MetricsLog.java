/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deepspg.io.AtomicFile;
import org.deepspg.io.JsonFiles;

/**
 * Appends one JSON object per line ({@code metrics.jsonl}) for every record, and keeps the records in memory for the
 * plots. Each record has a {@code kind} ("train" or "val") first and numeric fields after it, written compactly by
 * {@link JsonFiles#toCompact}, e.g. {@code {"kind":"train","step":10.0,"loss":0.0123}}: numbers in Java's shortest
 * round-trip form (logs of earlier versions used 8 significant digits, e.g. {@code 10.000000}; they read back the
 * same way), non-finite values as {@code null} (read back as NaN). On resume the existing file is read back and
 * records after the resumed step are dropped, so the log matches the weights.
 */
public final class MetricsLog implements AutoCloseable {
  /** One logged record. */
  public record Entry(String kind, Map<String, Double> values) {}

  private static final String KIND = "kind";

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
    if (values.containsKey(KIND)) throw new IllegalArgumentException("'" + KIND + "' is the record's kind, not a value");
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

  /** One record as its JSON line (without the newline). */
  static String format(Entry e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put(KIND, e.kind);
    e.values.forEach((k, v) -> m.put(k, COUNTS.contains(k) && v != null && v == Math.rint(v) && Math.abs(v) < 1e15
        ? (Object) v.longValue() : v));
    return JsonFiles.toCompact(m);
  }

  /** Keys that count things: written as JSON integers ({@code "step":120}, not {@code 120.0}). */
  private static final java.util.Set<String> COUNTS = java.util.Set.of("step", "epoch", "batch", "patch", "images");

  /**
   * Parses a line written by {@link #format} (or by earlier versions); returns null for anything else: blank or
   * malformed lines (a line cut short by a crash), a missing or non-string {@code kind}, non-numeric values.
   */
  static Entry parse(String line) {
    if (line.isBlank()) return null;
    JsonNode n;
    try {
      n = JsonFiles.parse(line);
    } catch (IllegalArgumentException malformed) {
      return null;
    }
    if (!n.isObject() || !n.path(KIND).isTextual()) return null;
    LinkedHashMap<String, Double> values = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> f : n.properties()) {
      if (f.getKey().equals(KIND)) continue;
      JsonNode v = f.getValue();
      if (v.isNumber()) values.put(f.getKey(), v.doubleValue());
      else if (v.isNull()) values.put(f.getKey(), Double.NaN);
      else return null;
    }
    return new Entry(n.get(KIND).textValue(), values);
  }

  @Override
  public synchronized void close() throws IOException {
    if (out != null) out.close();
    out = null;
  }
}
