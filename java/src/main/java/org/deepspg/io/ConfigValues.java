/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The one parser of configuration values shared by every properties-backed configuration (the training
 * configuration and the network configuration stored in weights files), so that a value means the same wherever it
 * is written.
 *
 * <p><b>Booleans</b>: {@code true/false}, {@code on/off}, {@code yes/no}, {@code 1/0}, case-insensitive, surrounding
 * blanks ignored. <b>Enums</b>: by name, case-insensitive, {@code -} and {@code _} interchangeable (so
 * {@code lol-v2-real} selects {@code LOL_V2_REAL}); the configuration spelling of a constant is {@link #text(Enum)}
 * (lower case, {@code -} for {@code _}). Errors are {@link IllegalArgumentException}s that name the key, quote the
 * value and list what is allowed, e.g. {@code config key 'retinex.prior' must be mean or max, got 'median'}.
 */
public final class ConfigValues {
  private ConfigValues() {}

  /**
   * Parses a boolean.
   *
   * @param key the configuration key (for the message)
   * @param text the value
   * @return the boolean
   * @throws IllegalArgumentException naming the key and the accepted spellings for anything else
   */
  public static boolean bool(String key, String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    switch (t) {
      case "true", "on", "yes", "1" -> {
        return true;
      }
      case "false", "off", "no", "0" -> {
        return false;
      }
      default -> throw new IllegalArgumentException("config key '" + key
          + "' must be true or false (also on/off, yes/no, 1/0), got '" + text + "'");
    }
  }

  /**
   * Parses an enum constant by name ({@link #text} spelling or the constant's name, case-insensitive).
   *
   * @param key the configuration key (for the message)
   * @param text the value
   * @param type the enum
   * @param <E> the enum type
   * @return the constant
   * @throws IllegalArgumentException naming the key and listing the allowed values for anything else
   */
  public static <E extends Enum<E>> E enumValue(String key, String text, Class<E> type) {
    return oneOf(key, text, List.of(type.getEnumConstants()), ConfigValues::text);
  }

  /**
   * Parses one of a fixed list of choices by its configuration name (case-insensitive, {@code -} and {@code _}
   * interchangeable).
   *
   * @param key the configuration key (for the message)
   * @param text the value
   * @param choices the allowed values, in the order the message lists them
   * @param name the configuration name of a choice
   * @param <T> the choice type
   * @return the matching choice
   * @throws IllegalArgumentException naming the key and listing every name for anything else
   */
  public static <T> T oneOf(String key, String text, List<T> choices, Function<T, String> name) {
    String t = normal(text);
    for (T c : choices) {
      if (normal(name.apply(c)).equals(t)) return c;
    }
    List<String> names = new ArrayList<>();
    for (T c : choices) names.add(name.apply(c));
    throw new IllegalArgumentException("config key '" + key + "' must be " + orList(names) + ", got '" + text + "'");
  }

  /**
   * The configuration spelling of an enum constant: its name in lower case with {@code -} for {@code _}
   * ({@code LOL_V2_REAL} is {@code lol-v2-real}, {@code MEAN} is {@code mean}).
   *
   * @param e the constant
   * @return its text
   */
  public static String text(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * Joins names for a message: {@code a}, {@code a or b}, {@code a, b or c}.
   *
   * @param names the names
   * @return the phrase
   */
  public static String orList(List<String> names) {
    if (names.size() <= 1) return String.join("", names);
    return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
  }

  private static String normal(String s) {
    return s == null ? "" : s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
