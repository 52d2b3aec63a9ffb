/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character-reference decoding with the exact rules of CPython 3.11's {@code html.unescape} and of ftfy 6.3's
 * more cautious {@code fixes.unescape_html}, for the CLIP tokenizer's text cleaning.
 *
 * <p>{@link #unescape(String)} (Python {@code html.unescape}) decodes
 * <ul>
 *   <li>decimal and hexadecimal references {@code &#65;} / {@code &#x41;}, with or without the trailing {@code ;};
 *       code points 0x80–0x9F and 0x00/0x0D are replaced as the HTML5 spec says (Windows-1252 meaning, U+FFFD, CR),
 *       surrogates and values above U+10FFFF give U+FFFD, the other HTML5 "invalid" code points (most C0/C1 controls,
 *       U+FDD0–U+FDEF, U+xFFFE/U+xFFFF) are dropped;</li>
 *   <li>named references from the WHATWG table (2,231 names incl. the legacy ones that need no {@code ;} such as
 *       {@code &copy} and {@code &amp}); an unknown name decodes its longest known prefix ({@code &copyright} →
 *       {@code ©right}), as the HTML5 tokenizer does.</li>
 * </ul>
 *
 * <p>{@link #unescapeFtfy(String)} (ftfy's {@code unescape_html}) only touches {@code &name;}/{@code &#...;} with the
 * semicolon, knows all-uppercase variants of lower-case names ({@code &EACUTE;} → {@code É}) and leaves partial
 * decodes alone. The entity table is the resource {@code html5_entities.tsv} next to this class.
 */
public final class TokenizerHtml {
  /** Python's {@code html._charref}: numeric references or up to 32 name characters, optional semicolon. */
  private static final Pattern CHARREF =
      Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");

  /** ftfy's {@code HTML_ENTITY_RE}: only complete references with a semicolon. */
  private static final Pattern FTFY_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");

  /** WHATWG named references, keyed without the leading '&' (with or without the trailing ';'). */
  private static final Map<String, String> HTML5 = loadTable();

  /** ftfy's {@code HTML_ENTITIES}: "&name;" for every ';' name plus upper-cased variants (built lazily). */
  private static volatile Map<String, String> ftfyEntities;

  private TokenizerHtml() {}

  /**
   * Python {@code html.unescape(s)}: decodes every character reference in {@code s}.
   *
   * @param s any text
   * @return the text with all named and numeric character references replaced
   */
  public static String unescape(String s) {
    if (s.indexOf('&') < 0) {
      return s;
    }
    Matcher m = CHARREF.matcher(s);
    StringBuilder out = new StringBuilder(s.length());
    int last = 0;
    while (m.find()) {
      out.append(s, last, m.start()).append(replaceCharref(m.group(1)));
      last = m.end();
    }
    return out.append(s, last, s.length()).toString();
  }

  /**
   * ftfy 6.3 {@code fixes.unescape_html(text)}: decodes {@code &name;} (incl. upper-cased names such as
   * {@code &NTILDE;}) and {@code &#...;}, but not references without a semicolon.
   *
   * @param s any text
   * @return the text with complete character references replaced
   */
  public static String unescapeFtfy(String s) {
    if (s.indexOf('&') < 0) {
      return s;
    }
    Map<String, String> entities = ftfyEntities();
    Matcher m = FTFY_ENTITY.matcher(s);
    StringBuilder out = new StringBuilder(s.length());
    int last = 0;
    while (m.find()) {
      String text = m.group();
      String repl = entities.get(text);
      if (repl == null) {
        repl = text;
        if (text.startsWith("&#")) {
          String unescaped = unescape(text);
          // a partial decode keeps the ';' and is not what ftfy wants
          if (unescaped.indexOf(';') < 0) {
            repl = unescaped;
          }
        }
      }
      out.append(s, last, m.start()).append(repl);
      last = m.end();
    }
    return out.append(s, last, s.length()).toString();
  }

  /** Number of named references in the table (2,231 for the WHATWG list). */
  static int tableSize() {
    return HTML5.size();
  }

  private static String replaceCharref(String s) {
    if (s.charAt(0) == '#') {
      boolean hex = s.charAt(1) == 'x' || s.charAt(1) == 'X';
      String digits = hex ? s.substring(2) : s.substring(1);
      if (digits.endsWith(";")) {
        digits = digits.substring(0, digits.length() - 1);
      }
      BigInteger big = new BigInteger(digits, hex ? 16 : 10);
      if (big.compareTo(BigInteger.valueOf(0x10FFFF)) > 0) {
        return "\uFFFD";
      }
      int num = big.intValue();
      if (num == 0x00) {
        return "\uFFFD";
      }
      if (num == 0x0D) {
        return "\r";
      }
      if (num >= 0x80 && num <= 0x9F) {
        return String.valueOf(TokenizerTextFixer.sloppyCp1252(num));
      }
      if (num >= 0xD800 && num <= 0xDFFF) {
        return "\uFFFD";
      }
      if (isInvalidCodePoint(num)) {
        return "";
      }
      return new String(Character.toChars(num));
    }
    String exact = HTML5.get(s);
    if (exact != null) {
      return exact;
    }
    // longest known prefix (names are ASCII, so char and code point indices agree on every candidate)
    for (int x = s.length() - 1; x > 1; x--) {
      String v = HTML5.get(s.substring(0, x));
      if (v != null) {
        return v + s.substring(x);
      }
    }
    return "&" + s;
  }

  /** Python's {@code html._invalid_codepoints} (0x80–0x9F are handled before this check). */
  private static boolean isInvalidCodePoint(int cp) {
    return (cp >= 0x01 && cp <= 0x08)
        || cp == 0x0B
        || (cp >= 0x0E && cp <= 0x1F)
        || (cp >= 0x7F && cp <= 0x9F)
        || (cp >= 0xFDD0 && cp <= 0xFDEF)
        || (cp & 0xFFFE) == 0xFFFE;
  }

  private static Map<String, String> ftfyEntities() {
    Map<String, String> m = ftfyEntities;
    if (m == null) {
      synchronized (TokenizerHtml.class) {
        m = ftfyEntities;
        if (m == null) {
          Map<String, String> built = new HashMap<>();
          for (Map.Entry<String, String> e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) {
              continue;
            }
            built.put("&" + name, e.getValue());
            if (name.equals(name.toLowerCase(Locale.ROOT))) {
              String upper = "&" + name.toUpperCase(Locale.ROOT);
              if (unescape(upper).equals(upper)) {
                built.put(upper, e.getValue().toUpperCase(Locale.ROOT));
              }
            }
          }
          m = Collections.unmodifiableMap(built);
          ftfyEntities = m;
        }
      }
    }
    return m;
  }

  private static Map<String, String> loadTable() {
    Map<String, String> map = new LinkedHashMap<>();
    try (InputStream in = TokenizerHtml.class.getResourceAsStream("html5_entities.tsv")) {
      if (in == null) {
        throw new IllegalStateException("resource org/deepspg/model/clip/html5_entities.tsv is missing");
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int tab = line.indexOf('\t');
        StringBuilder value = new StringBuilder();
        for (String hex : line.substring(tab + 1).split(" ")) {
          value.appendCodePoint(Integer.parseInt(hex, 16));
        }
        map.put(line.substring(0, tab), value.toString());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Collections.unmodifiableMap(map);
  }
}
