/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deepspg.io.ConfigValues;

/**
 * The one registry of training presets: a preset is a name, written as the value of a selector key ({@code variant}
 * or {@code losses}), that sets defaults for other keys. {@link TrainConfig} applies the {@code variant} preset, then
 * the {@code losses} preset, over the built-in defaults; keys written explicitly win over both.
 *
 * <p>{@code variant} (Table 2 of the paper, spec §4.6 ablation map): {@code baseline}, {@code v1}, {@code v2},
 * {@code v3} (the full DeepSPG, the default). {@code losses} (Table 3 rows; only the λs, the network follows the
 * variant): {@code pix}, {@code pix+edge}, {@code pix+edge+sem}, {@code all}. {@link #describe()} prints the table
 * ({@code deepspg train --help}); {@code docs/training.md} shows the same.
 */
public final class TrainPresets {
  /** Selector key of the ablation variants. */
  public static final String VARIANT = "variant";
  /** Selector key of the loss-weight presets. */
  public static final String LOSSES = "losses";

  /**
   * One preset.
   *
   * @param selector the key whose value selects it ({@link #VARIANT} or {@link #LOSSES})
   * @param name its canonical name (what the resolved configuration records)
   * @param aliases other accepted names
   * @param settings the keys it sets, in order, with their values
   * @param doc one-line meaning
   */
  public record Preset(String selector, String name, List<String> aliases, Map<String, String> settings, String doc) {
    /**
     * Copies the collections.
     *
     * @param selector selector key
     * @param name canonical name
     * @param aliases other names
     * @param settings keys and values
     * @param doc meaning
     */
    public Preset {
      aliases = List.copyOf(aliases);
      settings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(settings));
    }
  }

  private static final List<Preset> ALL = List.of(
      preset(VARIANT, "baseline", List.of(), "no SEMs, no L_sem / L_mul, no C2F (needs no weights)",
          "sem.enabled", "false", "loss.sem", "0", "loss.mul", "0", "c2f.enabled", "false"),
      preset(VARIANT, "v1", List.of("variant1"), "+ SEMs and L_sem (needs HRNet)",
          "sem.enabled", "true", "loss.mul", "0", "c2f.enabled", "false"),
      preset(VARIANT, "v2", List.of("variant2"), "+ L_mul (needs HRNet and CLIP)",
          "sem.enabled", "true", "c2f.enabled", "false"),
      preset(VARIANT, "v3", List.of("variant3", "full"), "+ coarse-to-fine: the full DeepSPG (the default)",
          "sem.enabled", "true", "c2f.enabled", "true"),
      preset(LOSSES, "pix", List.of(), "L_pix only",
          "loss.pix", "1", "loss.edge", "0", "loss.sem", "0", "loss.mul", "0"),
      preset(LOSSES, "pix+edge", List.of(), "+ L_edge",
          "loss.pix", "1", "loss.edge", "0.5", "loss.sem", "0", "loss.mul", "0"),
      preset(LOSSES, "pix+edge+sem", List.of(), "+ L_sem",
          "loss.pix", "1", "loss.edge", "0.5", "loss.sem", "0.01", "loss.mul", "0"),
      preset(LOSSES, "all", List.of(), "+ L_mul (the paper's weights)",
          "loss.pix", "1", "loss.edge", "0.5", "loss.sem", "0.01", "loss.mul", "0.01"));

  private TrainPresets() {}

  private static Preset preset(String selector, String name, List<String> aliases, String doc, String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
    return new Preset(selector, name, aliases, m, doc);
  }

  /** @return every preset, selector by selector, in documentation order */
  public static List<Preset> all() {
    return ALL;
  }

  /**
   * @param selector {@link #VARIANT} or {@link #LOSSES}
   * @return the presets of that selector, in documentation order
   */
  public static List<Preset> of(String selector) {
    List<Preset> out = new ArrayList<>();
    for (Preset p : ALL) if (p.selector().equals(selector)) out.add(p);
    if (out.isEmpty()) throw new IllegalArgumentException("no presets for key '" + selector + "'");
    return out;
  }

  /**
   * Finds a preset by name or alias (case-insensitive, blanks ignored: {@code "pix + edge"} is {@code pix+edge}).
   *
   * @param selector {@link #VARIANT} or {@link #LOSSES}
   * @param name the value written for the selector
   * @return the preset
   * @throws IllegalArgumentException naming the key and listing the presets for an unknown name
   */
  public static Preset find(String selector, String name) {
    String n = normal(name);
    List<Preset> ps = of(selector);
    for (Preset p : ps) {
      if (normal(p.name()).equals(n)) return p;
      for (String a : p.aliases()) if (normal(a).equals(n)) return p;
    }
    List<String> names = new ArrayList<>();
    for (Preset p : ps) names.add(p.name());
    throw new IllegalArgumentException("config key '" + selector + "' must be " + ConfigValues.orList(names)
        + ", got '" + name + "'");
  }

  /** @return the presets as text lines ({@code deepspg train --help}) */
  public static String describe() {
    StringBuilder sb = new StringBuilder();
    for (Preset p : ALL) {
      sb.append("  ").append(p.selector()).append('=').append(p.name());
      if (!p.aliases().isEmpty()) sb.append(" (also ").append(String.join(", ", p.aliases())).append(')');
      sb.append(": ").append(p.doc()).append("\n      sets");
      p.settings().forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
      sb.append('\n');
    }
    return sb.toString();
  }

  private static String normal(String s) {
    return s == null ? "" : s.replaceAll("\\s+", "").toLowerCase(Locale.ROOT);
  }
}
