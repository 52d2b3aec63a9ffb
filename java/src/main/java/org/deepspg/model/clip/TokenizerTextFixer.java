/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * A Java re-implementation of the parts of {@code ftfy.fix_text} (ftfy 6.3, default configuration) that matter for
 * CLIP prompts, applied by {@link ClipTokenizer#clean(String)} before HTML unescaping.
 *
 * <p>Like ftfy, the text is processed one line ({@code \n}-terminated segment) at a time and every segment is fixed
 * repeatedly until nothing changes. One round applies, in ftfy's order:
 * <ol>
 *   <li>{@code unescape_html} — {@link TokenizerHtml#unescapeFtfy(String)}; skipped for this and all later lines once
 *       a line contains {@code '<'} (ftfy's {@code unescape_html="auto"});</li>
 *   <li>{@code fix_encoding} — <b>simplified</b>: see {@link #fixEncoding(String)};</li>
 *   <li>{@code fix_c1_controls} (U+0080–U+009F read as Windows-1252), {@code fix_latin_ligatures} (ﬁ → fi, Ĳ → IJ, …),
 *       {@code fix_character_width} (full-/half-width forms U+FF01–U+FFEF via NFKC, U+3000 → space),
 *       {@code uncurl_quotes} (U+02BC, U+2018–U+201B → {@code '}; U+201C–U+201F → {@code "}),
 *       {@code fix_line_breaks} (CRLF, CR, U+2028, U+2029, U+0085 → LF), {@code fix_surrogates} (lone surrogates →
 *       U+FFFD), {@code remove_terminal_escapes} (ANSI {@code ESC[...x}), {@code remove_control_chars} (U+0000–U+0008,
 *       U+000B, U+000E–U+001F, U+007F, U+206A–U+206F, U+FEFF, U+FFF9–U+FFFC);</li>
 *   <li>NFC normalisation.</li>
 * </ol>
 *
 * <p>Known differences from ftfy (none of them is hit by the golden prompts): ftfy decides whether a line is
 * mojibake with a statistical "badness" score; here a re-decoding is applied only when it is unambiguous (the
 * characters spell complete, valid UTF-8 multi-byte sequences, see {@link #fixEncoding(String)}), which can differ on
 * contrived text. Only Latin-1 and Windows-1252 mojibake is recognised (not Windows-1250/1251/1253/1254/1257,
 * ISO-8859-2, MacRoman, CP437), and the repairs for lost bytes ({@code replace_lossy_sequences}), A0 bytes turned into
 * spaces ({@code restore_byte_a0}) and CESU-8/Java-modified UTF-8 are not implemented.
 */
public final class TokenizerTextFixer {
  /** Windows-1252 meaning of bytes 0x80–0x9F; bytes that code page leaves undefined map to the C1 control itself. */
  private static final char[] CP1252_80_9F = {
    '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
    '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
    '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
    '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
  };

  private static final Pattern ANSI_ESCAPE = Pattern.compile("\u001b\\[((?:\\d|;)*)([a-zA-Z])");

  /** ftfy keeps segments up to this many code points together (max_decode_length). */
  private static final int MAX_DECODE_LENGTH = 1_000_000;

  /** Full-width/half-width map: index = code point - 0xFF00, null = unchanged. */
  private static final String[] WIDTH_MAP = buildWidthMap();

  private TokenizerTextFixer() {}

  /**
   * {@code ftfy.fix_text(text)} with the default configuration, as far as implemented (see the class comment).
   *
   * @param text any text
   * @return the fixed text
   */
  public static String fixText(String text) {
    StringBuilder out = new StringBuilder(text.length());
    boolean unescape = true;
    int pos = 0;
    int n = text.length();
    while (pos < n) {
      int nl = text.indexOf('\n', pos);
      int end = nl < 0 ? n : nl + 1;
      if (text.codePointCount(pos, end) > MAX_DECODE_LENGTH) {
        end = text.offsetByCodePoints(pos, MAX_DECODE_LENGTH);
      }
      String segment = text.substring(pos, end);
      if (unescape && segment.indexOf('<') >= 0) {
        unescape = false;
      }
      out.append(fixSegment(segment, unescape));
      pos = end;
    }
    return out.toString();
  }

  /** ftfy's {@code fix_and_explain} loop for one segment. */
  private static String fixSegment(String text, boolean unescape) {
    while (true) {
      String orig = text;
      if (unescape) {
        text = TokenizerHtml.unescapeFtfy(text);
      }
      text = fixEncoding(text);
      text = fixC1Controls(text);
      text = fixLatinLigatures(text);
      text = fixCharacterWidth(text);
      text = uncurlQuotes(text);
      text = fixLineBreaks(text);
      text = fixSurrogates(text);
      text = removeTerminalEscapes(text);
      text = removeControlChars(text);
      text = Normalizer.normalize(text, Normalizer.Form.NFC);
      if (text.equals(orig)) {
        return text;
      }
    }
  }

  /**
   * Mojibake repair (simplified ftfy {@code fix_encoding}), repeated until stable. One step, for text that is not
   * pure ASCII:
   * <ol>
   *   <li>if the text can be encoded as Latin-1 (tried first) or as "sloppy" Windows-1252 (Windows-1252 whose
   *       undefined bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D stand for the C1 control of the same number), the bytes contain
   *       at least one UTF-8 multi-byte sequence and the <em>whole</em> byte string is valid UTF-8, it is decoded as
   *       UTF-8 ({@code "cafÃ©"} → {@code "café"}, {@code "â€œ"} → {@code "“"});</li>
   *   <li>else every maximal run of characters that spell complete valid UTF-8 multi-byte sequences is decoded in
   *       place (ftfy's {@code decode_inconsistent_utf8}: {@code "¯\_(ã\x83\x84)_/¯"} → {@code "¯\_(ツ)_/¯"});</li>
   *   <li>else, if the text is Latin-1 with C1 controls, they are re-read as Windows-1252 when all are defined
   *       there.</li>
   * </ol>
   * Plain accented text ({@code "naïve résumé"}, {@code "Straße"}) never spells such sequences and is not touched.
   *
   * @param text any text
   * @return the repaired text
   */
  public static String fixEncoding(String text) {
    while (true) {
      String next = fixEncodingStep(text);
      if (next.equals(text)) {
        return text;
      }
      text = next;
    }
  }

  private static String fixEncodingStep(String text) {
    boolean ascii = true;
    boolean latin1 = true;
    boolean sloppy1252 = true;
    boolean hasC1 = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c >= 0x80) {
        ascii = false;
      }
      if (c > 0xFF) {
        latin1 = false;
      }
      if (c >= 0x80 && c <= 0x9F) {
        hasC1 = true;
      }
      if (sloppy1252 && cp1252Byte(c) < 0) {
        sloppy1252 = false;
      }
    }
    if (ascii) {
      return text;
    }
    if (latin1) {
      String fixed = decodeUtf8Strict(encode(text, false));
      if (fixed != null) {
        return fixed;
      }
    }
    if (sloppy1252) {
      String fixed = decodeUtf8Strict(encode(text, true));
      if (fixed != null) {
        return fixed;
      }
    }
    String embedded = decodeEmbeddedUtf8(text);
    if (!embedded.equals(text)) {
      return embedded;
    }
    if (latin1 && hasC1) {
      // Latin-1 text that was meant as Windows-1252: strict decoding (undefined bytes keep the text unchanged)
      StringBuilder sb = new StringBuilder(text.length());
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c >= 0x80 && c <= 0x9F) {
          char d = CP1252_80_9F[c - 0x80];
          if (d == c) {
            return text;
          }
          sb.append(d);
        } else {
          sb.append(c);
        }
      }
      return sb.toString();
    }
    return text;
  }

  /**
   * Line-local mojibake (ftfy's {@code decode_inconsistent_utf8}, simplified): every maximal run of characters whose
   * single-byte values (Latin-1 value, or the Windows-1252 byte for € ‚ ƒ … ™ etc.) form complete, valid UTF-8
   * multi-byte sequences is decoded as UTF-8; the rest of the line is kept.
   */
  private static String decodeEmbeddedUtf8(String text) {
    StringBuilder out = null;
    int i = 0;
    int n = text.length();
    int copied = 0;
    while (i < n) {
      int runEnd = i;
      while (true) {
        int len = utf8SequenceAt(text, runEnd);
        if (len == 0) {
          break;
        }
        runEnd += len;
      }
      if (runEnd > i) {
        byte[] bytes = new byte[runEnd - i];
        for (int k = i; k < runEnd; k++) {
          bytes[k - i] = (byte) singleByte(text.charAt(k));
        }
        String decoded = decodeUtf8Strict(bytes);
        if (decoded != null) {
          if (out == null) {
            out = new StringBuilder(n);
          }
          out.append(text, copied, i).append(decoded);
          copied = runEnd;
        }
        i = runEnd;
      } else {
        i++;
      }
    }
    if (out == null) {
      return text;
    }
    return out.append(text, copied, n).toString();
  }

  /** Length of a valid UTF-8 multi-byte sequence spelled by single-byte characters at {@code i}, else 0. */
  private static int utf8SequenceAt(String text, int i) {
    if (i >= text.length()) {
      return 0;
    }
    int lead = singleByte(text.charAt(i));
    int len;
    int lo = 0x80;
    int hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      len = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      len = 3;
      lo = lead == 0xE0 ? 0xA0 : 0x80;
      hi = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      len = 4;
      lo = lead == 0xF0 ? 0x90 : 0x80;
      hi = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      return 0;
    }
    if (i + len > text.length()) {
      return 0;
    }
    for (int k = 1; k < len; k++) {
      int b = singleByte(text.charAt(i + k));
      int l = k == 1 ? lo : 0x80;
      int h = k == 1 ? hi : 0xBF;
      if (b < l || b > h) {
        return 0;
      }
    }
    return len;
  }

  /** Byte value of {@code c} read as Latin-1 or, for Windows-1252's extra characters, as Windows-1252; else -1. */
  private static int singleByte(char c) {
    if (c <= 0xFF) {
      return c;
    }
    return cp1252Byte(c);
  }

  /** Sloppy Windows-1252 byte of {@code c}, or -1 (U+001A and U+FFFD are treated as not encodable). */
  private static int cp1252Byte(char c) {
    if (c < 0x80) {
      return c == 0x1A ? -1 : c;
    }
    if (c >= 0xA0 && c <= 0xFF) {
      return c;
    }
    for (int b = 0; b < 32; b++) {
      if (CP1252_80_9F[b] == c) {
        return 0x80 + b;
      }
    }
    return -1;
  }

  private static byte[] encode(String text, boolean cp1252) {
    byte[] out = new byte[text.length()];
    for (int i = 0; i < out.length; i++) {
      char c = text.charAt(i);
      out[i] = (byte) (cp1252 ? cp1252Byte(c) : c);
    }
    return out;
  }

  /** Strict UTF-8 decode; null when invalid or when there is no multi-byte sequence at all. */
  private static String decodeUtf8Strict(byte[] bytes) {
    boolean multi = false;
    for (byte b : bytes) {
      if (b < 0) {
        multi = true;
        break;
      }
    }
    if (!multi) {
      return null;
    }
    CharsetDecoder dec =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    try {
      CharBuffer cb = dec.decode(ByteBuffer.wrap(bytes));
      return cb.toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** The Windows-1252 character for byte {@code b} in 0x80–0x9F (C1 control itself where undefined). */
  static char sloppyCp1252(int b) {
    return CP1252_80_9F[b - 0x80];
  }

  /** ftfy {@code fix_c1_controls}: C1 controls U+0080–U+009F as their Windows-1252 characters. */
  static String fixC1Controls(String text) {
    StringBuilder sb = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c >= 0x80 && c <= 0x9F) {
        if (sb == null) {
          sb = new StringBuilder(text);
        }
        sb.setCharAt(i, CP1252_80_9F[c - 0x80]);
      }
    }
    return sb == null ? text : sb.toString();
  }

  /** ftfy {@code fix_latin_ligatures}. */
  static String fixLatinLigatures(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    boolean changed = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      String r = ligature(c);
      if (r != null) {
        sb.append(r);
        changed = true;
      } else {
        sb.append(c);
      }
    }
    return changed ? sb.toString() : text;
  }

  private static String ligature(char c) {
    switch (c) {
      case '\u0132': return "IJ";
      case '\u0133': return "ij";
      case '\u0149': return "\u02BCn";
      case '\u01F1': return "DZ";
      case '\u01F2': return "Dz";
      case '\u01F3': return "dz";
      case '\u01C4': return "D\u017D";
      case '\u01C5': return "D\u017E";
      case '\u01C6': return "d\u017E";
      case '\u01C7': return "LJ";
      case '\u01C8': return "Lj";
      case '\u01C9': return "lj";
      case '\u01CA': return "NJ";
      case '\u01CB': return "Nj";
      case '\u01CC': return "nj";
      case '\uFB00': return "ff";
      case '\uFB01': return "fi";
      case '\uFB02': return "fl";
      case '\uFB03': return "ffi";
      case '\uFB04': return "ffl";
      case '\uFB05': return "\u017Ft";
      case '\uFB06': return "st";
      default: return null;
    }
  }

  /** ftfy {@code fix_character_width}: U+3000 → space, U+FF01–U+FFEF → their NFKC form. */
  static String fixCharacterWidth(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    boolean changed = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      String r = null;
      if (c == '\u3000') {
        r = " ";
      } else if (c >= 0xFF01 && c <= 0xFFEF) {
        r = WIDTH_MAP[c - 0xFF00];
      }
      if (r != null) {
        sb.append(r);
        changed = true;
      } else {
        sb.append(c);
      }
    }
    return changed ? sb.toString() : text;
  }

  /** ftfy {@code uncurl_quotes}. */
  static String uncurlQuotes(String text) {
    StringBuilder sb = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      char r = 0;
      if (c == '\u02BC' || (c >= '\u2018' && c <= '\u201B')) {
        r = '\'';
      } else if (c >= '\u201C' && c <= '\u201F') {
        r = '"';
      }
      if (r != 0) {
        if (sb == null) {
          sb = new StringBuilder(text);
        }
        sb.setCharAt(i, r);
      }
    }
    return sb == null ? text : sb.toString();
  }

  /** ftfy {@code fix_line_breaks}. */
  static String fixLineBreaks(String text) {
    return text.replace("\r\n", "\n")
        .replace('\r', '\n')
        .replace('\u2028', '\n')
        .replace('\u2029', '\n')
        .replace('\u0085', '\n');
  }

  /** ftfy {@code fix_surrogates}: Java strings hold valid pairs already; lone surrogates become U+FFFD. */
  static String fixSurrogates(String text) {
    StringBuilder sb = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
        continue;
      }
      if (Character.isSurrogate(c)) {
        if (sb == null) {
          sb = new StringBuilder(text);
        }
        sb.setCharAt(i, '\uFFFD');
      }
    }
    return sb == null ? text : sb.toString();
  }

  /** ftfy {@code remove_terminal_escapes}. */
  static String removeTerminalEscapes(String text) {
    return text.indexOf('\u001b') < 0 ? text : ANSI_ESCAPE.matcher(text).replaceAll("");
  }

  /** ftfy {@code remove_control_chars}. */
  static String removeControlChars(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    boolean changed = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean drop =
          c <= 0x08
              || c == 0x0B
              || (c >= 0x0E && c <= 0x1F)
              || c == 0x7F
              || (c >= 0x206A && c <= 0x206F)
              || c == 0xFEFF
              || (c >= 0xFFF9 && c <= 0xFFFC);
      if (drop) {
        changed = true;
      } else {
        sb.append(c);
      }
    }
    return changed ? sb.toString() : text;
  }

  private static String[] buildWidthMap() {
    String[] map = new String[0x100];
    for (int cp = 0xFF01; cp <= 0xFFEF; cp++) {
      String s = String.valueOf((char) cp);
      String alt = Normalizer.normalize(s, Normalizer.Form.NFKC);
      if (!alt.equals(s)) {
        map[cp - 0xFF00] = alt;
      }
    }
    return map;
  }
}
