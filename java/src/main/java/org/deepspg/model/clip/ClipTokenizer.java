/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * CLIP's byte-level BPE tokenizer, a Java port of openai/CLIP {@code clip/simple_tokenizer.py} plus
 * {@code clip.tokenize}.
 *
 * <p>Vocabulary ({@code bpe_simple_vocab_16e6.txt.gz}, gzip'd UTF-8): line 0 is a header, lines 1..48,894 are merges
 * {@code "a b"} in rank order. Ids: 0..255 = the 256 byte symbols (GPT-2's printable byte alphabet, in
 * {@code bytes_to_unicode()} order), 256..511 = the same with {@code </w>}, 512..49,405 = one per merge,
 * {@value #SOT} = {@code <|startoftext|>}, {@value #EOT} = {@code <|endoftext|>}.
 *
 * <p>{@link #encode(String)}: {@link #clean(String)} the text, split it with
 * {@code <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+}, map each piece's
 * UTF-8 bytes to the byte alphabet, mark the last symbol with {@code </w>} and apply merges lowest rank first (results
 * cached per piece). Instances are immutable apart from the thread-safe cache and may be shared between threads.
 */
public final class ClipTokenizer {
  /** Id of {@code <|startoftext|>}. */
  public static final long SOT = 49406;
  /** Id of {@code <|endoftext|>}. */
  public static final long EOT = 49407;
  /** Vocabulary size (ids 0..49407). */
  public static final int VOCAB_SIZE = 49408;
  /** CLIP's text context length. */
  public static final int CONTEXT_LENGTH = 77;

  private static final int NUM_MERGES = 49152 - 256 - 2;
  private static final String SOT_TEXT = "<|startoftext|>";
  private static final String EOT_TEXT = "<|endoftext|>";
  /** Cache bound: cleared when exceeded so long-running jobs cannot grow it without limit. */
  private static final int CACHE_LIMIT = 200_000;

  /** Python's str.isspace() set (what {@code \s} means for Python str patterns). */
  private static final String WS =
      "\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

  private static final Pattern SPLIT =
      Pattern.compile(
          "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^" + WS
              + "\\p{L}\\p{N}]+",
          Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);

  private static final Pattern WHITESPACE_RUN = Pattern.compile("[" + WS + "]+");

  private final char[] byteEncoder = new char[256];
  private final int[] byteDecoder;
  private final Map<String, Integer> encoder;
  private final String[] decoder;
  /** Merge ranks keyed by {@code first + ' ' + second} (space is not in the byte alphabet). */
  private final Map<String, Integer> bpeRanks;
  private final ConcurrentHashMap<String, String> cache = new ConcurrentHashMap<>();

  private ClipTokenizer(List<String[]> merges) {
    // bytes_to_unicode(): printable bytes map to themselves, the others to U+0100.. in byte order
    List<Integer> bs = new ArrayList<>();
    for (int b = '!'; b <= '~'; b++) {
      bs.add(b);
    }
    for (int b = 0xA1; b <= 0xAC; b++) {
      bs.add(b);
    }
    for (int b = 0xAE; b <= 0xFF; b++) {
      bs.add(b);
    }
    List<Integer> cs = new ArrayList<>(bs);
    int n = 0;
    for (int b = 0; b < 256; b++) {
      if (!bs.contains(b)) {
        bs.add(b);
        cs.add(256 + n);
        n++;
      }
    }
    int maxChar = 0;
    for (int i = 0; i < 256; i++) {
      byteEncoder[bs.get(i)] = (char) (int) cs.get(i);
      maxChar = Math.max(maxChar, cs.get(i));
    }
    byteDecoder = new int[maxChar + 1];
    java.util.Arrays.fill(byteDecoder, -1);
    for (int b = 0; b < 256; b++) {
      byteDecoder[byteEncoder[b]] = b;
    }

    List<String> vocab = new ArrayList<>(VOCAB_SIZE);
    for (int i = 0; i < 256; i++) {
      vocab.add(String.valueOf((char) (int) cs.get(i)));
    }
    for (int i = 0; i < 256; i++) {
      vocab.add(vocab.get(i) + "</w>");
    }
    bpeRanks = new HashMap<>(merges.size() * 2);
    for (int r = 0; r < merges.size(); r++) {
      String[] m = merges.get(r);
      vocab.add(m[0] + m[1]);
      bpeRanks.put(m[0] + ' ' + m[1], r);
    }
    vocab.add(SOT_TEXT);
    vocab.add(EOT_TEXT);
    if (vocab.size() != VOCAB_SIZE) {
      throw new IllegalArgumentException("vocabulary has " + vocab.size() + " entries, expected " + VOCAB_SIZE);
    }
    decoder = vocab.toArray(new String[0]);
    encoder = new HashMap<>(VOCAB_SIZE * 2);
    for (int i = 0; i < decoder.length; i++) {
      encoder.put(decoder[i], i);
    }
    cache.put(SOT_TEXT, SOT_TEXT);
    cache.put(EOT_TEXT, EOT_TEXT);
  }

  /**
   * Reads the merges of {@code bpe_simple_vocab_16e6.txt.gz} (openai/CLIP's file, sha256 924691ac…804a).
   *
   * @param vocabGz path of the gzip'd merges file
   * @return the tokenizer
   * @throws UncheckedIOException when the file cannot be read
   * @throws IllegalArgumentException when the file has fewer than 48,894 merges or a malformed line
   */
  public static ClipTokenizer load(Path vocabGz) {
    List<String[]> merges = new ArrayList<>(NUM_MERGES);
    try (InputStream in = new GZIPInputStream(Files.newInputStream(vocabGz), 1 << 16);
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String header = r.readLine();
      if (header == null) {
        throw new IllegalArgumentException("empty BPE vocabulary file " + vocabGz);
      }
      String line;
      while (merges.size() < NUM_MERGES && (line = r.readLine()) != null) {
        String[] parts = line.split(" ");
        if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
          throw new IllegalArgumentException(
              "malformed merge line " + (merges.size() + 1) + " in " + vocabGz + ": '" + line + "'");
        }
        merges.add(parts);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read BPE vocabulary " + vocabGz, e);
    }
    if (merges.size() != NUM_MERGES) {
      throw new IllegalArgumentException(
          vocabGz + " has " + merges.size() + " merges, CLIP's tokenizer needs " + NUM_MERGES);
    }
    return new ClipTokenizer(merges);
  }

  /**
   * CLIP's text cleaning: {@code ftfy.fix_text} (see {@link TokenizerTextFixer}), {@code html.unescape} twice, runs of
   * Unicode whitespace → one space, strip, lower-case ({@link Locale#ROOT}).
   *
   * @param text raw text
   * @return the cleaned text that is split into tokens
   */
  public static String clean(String text) {
    return cleanAfterFtfy(TokenizerTextFixer.fixText(text));
  }

  /** The cleaning steps after ftfy: html.unescape twice, strip, whitespace runs → " ", strip, lower-case. */
  static String cleanAfterFtfy(String text) {
    String t = TokenizerHtml.unescape(TokenizerHtml.unescape(text));
    t = stripPython(t);
    t = WHITESPACE_RUN.matcher(t).replaceAll(" ");
    t = stripPython(t);
    return t.toLowerCase(Locale.ROOT);
  }

  /**
   * BPE ids of the text body (no start/end tokens), as {@code SimpleTokenizer.encode}.
   *
   * @param text raw text
   * @return ids in [0, 49408)
   */
  public long[] encode(String text) {
    List<String> pieces = bpePieces(text);
    long[] ids = new long[pieces.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = encoder.get(pieces.get(i));
    }
    return ids;
  }

  /**
   * The vocabulary strings of the BPE tokens of {@code text} (byte alphabet, {@code </w>} at word ends), handy for
   * debugging.
   *
   * @param text raw text
   * @return one string per id of {@link #encode(String)}
   */
  public List<String> bpeTokens(String text) {
    return bpePieces(text);
  }

  /** The pieces CLIP's split regex finds in an already cleaned text. */
  static List<String> split(String cleaned) {
    List<String> pieces = new ArrayList<>();
    Matcher m = SPLIT.matcher(cleaned);
    while (m.find()) {
      pieces.add(m.group());
    }
    return pieces;
  }

  private List<String> bpePieces(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder sb = new StringBuilder();
    for (String piece : split(clean(text))) {
      sb.setLength(0);
      for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
        sb.append(byteEncoder[b & 0xFF]);
      }
      String word = bpe(sb.toString());
      int start = 0;
      for (int i = 0; i <= word.length(); i++) {
        if (i == word.length() || word.charAt(i) == ' ') {
          out.add(word.substring(start, i));
          start = i + 1;
        }
      }
    }
    return out;
  }

  /**
   * {@code clip.tokenize}: {@code [SOT] + encode(text) + [EOT]}, zero padded to {@code contextLength}.
   *
   * @param texts prompts
   * @param contextLength sequence length (77 for CLIP)
   * @param truncate when a sequence is too long: keep the first {@code contextLength} ids and make the last one EOT
   *     (true), or throw (false)
   * @return ids {@code [texts.size(), contextLength]}
   * @throws IllegalArgumentException when {@code truncate} is false and a text is too long, or contextLength &lt; 2
   */
  public long[][] tokenize(List<String> texts, int contextLength, boolean truncate) {
    if (contextLength < 2) {
      throw new IllegalArgumentException("contextLength must be >= 2, got " + contextLength);
    }
    long[][] result = new long[texts.size()][contextLength];
    for (int i = 0; i < texts.size(); i++) {
      long[] body = encode(texts.get(i));
      int total = body.length + 2;
      if (total > contextLength && !truncate) {
        throw new IllegalArgumentException(
            "Input '" + texts.get(i) + "' is too long for context length " + contextLength + " (" + total
                + " tokens)");
      }
      long[] row = result[i];
      row[0] = SOT;
      int n = Math.min(body.length, contextLength - 1);
      System.arraycopy(body, 0, row, 1, n);
      if (total > contextLength) {
        row[contextLength - 1] = EOT;
      } else {
        row[body.length + 1] = EOT;
      }
    }
    return result;
  }

  /**
   * {@code clip.tokenize(texts)} with its defaults: context length 77, no truncation.
   *
   * @param texts prompts
   * @return ids {@code [texts.size(), 77]}
   * @throws IllegalArgumentException when a text needs more than 77 tokens
   */
  public long[][] tokenize(List<String> texts) {
    return tokenize(texts, CONTEXT_LENGTH, false);
  }

  /**
   * {@code SimpleTokenizer.decode}: concatenates the vocabulary strings, maps them back to bytes, decodes UTF-8
   * (invalid sequences → U+FFFD) and turns {@code </w>} into spaces. Like the Python code it decodes every id given,
   * so strip padding zeros (id 0 is {@code "!"}) and SOT/EOT first if they are not wanted.
   *
   * @param ids token ids in [0, 49408)
   * @return the text
   * @throws IllegalArgumentException for an id outside the vocabulary
   */
  public String decode(long[] ids) {
    StringBuilder sb = new StringBuilder();
    for (long id : ids) {
      if (id < 0 || id >= VOCAB_SIZE) {
        throw new IllegalArgumentException("token id " + id + " outside [0, " + VOCAB_SIZE + ")");
      }
      sb.append(decoder[(int) id]);
    }
    byte[] bytes = new byte[sb.length()];
    for (int i = 0; i < bytes.length; i++) {
      int b = byteDecoder[sb.charAt(i)];
      bytes[i] = (byte) b;
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPLACE)
              .onUnmappableCharacter(CodingErrorAction.REPLACE)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new IllegalStateException(e); // cannot happen with REPLACE
    }
    return text.replace("</w>", " ");
  }

  /**
   * Vocabulary string of one id.
   *
   * @param id token id in [0, 49408)
   * @return its vocabulary string
   */
  public String token(int id) {
    return decoder[id];
  }

  /** SimpleTokenizer.bpe: merges by rank on one piece (already mapped to the byte alphabet). */
  private String bpe(String token) {
    String cached = cache.get(token);
    if (cached != null) {
      return cached;
    }
    List<String> word = new ArrayList<>(token.length());
    for (int i = 0; i < token.length() - 1; i++) {
      word.add(String.valueOf(token.charAt(i)));
    }
    word.add(token.charAt(token.length() - 1) + "</w>");
    if (word.size() == 1) {
      return token + "</w>";
    }
    while (true) {
      // lowest-rank adjacent pair (ranks are unique)
      int bestRank = Integer.MAX_VALUE;
      String first = null;
      String second = null;
      for (int i = 0; i < word.size() - 1; i++) {
        Integer r = bpeRanks.get(word.get(i) + ' ' + word.get(i + 1));
        if (r != null && r < bestRank) {
          bestRank = r;
          first = word.get(i);
          second = word.get(i + 1);
        }
      }
      if (first == null) {
        break;
      }
      List<String> merged = new ArrayList<>(word.size());
      int i = 0;
      while (i < word.size()) {
        if (i < word.size() - 1 && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
          merged.add(first + second);
          i += 2;
        } else {
          merged.add(word.get(i));
          i += 1;
        }
      }
      word = merged;
      if (word.size() == 1) {
        break;
      }
    }
    String result = String.join(" ", word);
    if (cache.size() > CACHE_LIMIT) {
      cache.clear();
      cache.put(SOT_TEXT, SOT_TEXT);
      cache.put(EOT_TEXT, EOT_TEXT);
    }
    cache.put(token, result);
    return result;
  }

  /** Python str.strip(): removes leading/trailing characters for which str.isspace() is true. */
  private static String stripPython(String s) {
    int a = 0;
    int b = s.length();
    while (a < b && isPySpace(s.charAt(a))) {
      a++;
    }
    while (b > a && isPySpace(s.charAt(b - 1))) {
      b--;
    }
    return s.substring(a, b);
  }

  private static boolean isPySpace(char c) {
    return (c >= 0x09 && c <= 0x0D)
        || (c >= 0x1C && c <= 0x20)
        || c == 0x85
        || c == 0xA0
        || c == 0x1680
        || (c >= 0x2000 && c <= 0x200A)
        || c == 0x2028
        || c == 0x2029
        || c == 0x202F
        || c == 0x205F
        || c == 0x3000;
  }
}
