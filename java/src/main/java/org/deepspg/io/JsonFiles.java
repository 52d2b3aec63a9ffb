/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.PrettyPrinter;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.Instantiatable;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The project's one way to read and write JSON (Jackson databind): the model configurations of the priors, evaluation
 * reports, the training metrics log, benchmark results and the synthetic-dataset manifests all go through it.
 *
 * <p><b>Reading</b> is strict (RFC 8259: no comments, no trailing commas, no NaN literals, no duplicate member names,
 * nothing after the root value) and bounded: a file is read only up to a byte limit ({@link #DEFAULT_MAX_BYTES}
 * unless the caller gives a smaller one), and nesting is limited to {@link #MAX_DEPTH} levels, so a hostile or
 * corrupt file costs little memory. Malformed text is an {@link IllegalArgumentException} whose message names the
 * file and the position; the typed accessors ({@link #object}, {@link #integer}, ...) name the member that is missing
 * or of the wrong type.
 *
 * <p><b>Writing</b> has three layouts, chosen by the format's readers:
 * <ul>
 *   <li>{@link #toPretty}: reports. The root object has one member per line (two-space indent); an array that is a
 *       member of the root has one element per line; everything deeper is written on one line with {@code ", "} and
 *       {@code ": "} separators, e.g. a per-image record {@code {"name": "1.png", "psnr": 20.5}}.</li>
 *   <li>{@link #toLine}: one value on one line with {@code ", "} and {@code ": "} separators (JSON-lines manifests).</li>
 *   <li>{@link #toCompact}: one line without spaces (the training metrics log).</li>
 * </ul>
 * Non-finite {@code double}/{@code float} values (NaN, ±infinity) are written as {@code null}, since JSON has no
 * literal for them; readers take {@code null} as "not measured", and a typed read into a primitive {@code double}
 * gives NaN for it. Finite doubles use Java's shortest round-trip
 * representation, so reading a file back gives the same values; {@link java.math.BigDecimal} values are written as
 * plain decimals with their scale (for fixed-decimal fields).
 */
public final class JsonFiles {
  /** Largest JSON file read by {@link #readTree(Path)}: 16 MiB (the project's JSON files are kilobytes). */
  public static final long DEFAULT_MAX_BYTES = 16L << 20;

  /** Deepest nesting of arrays and objects accepted when reading. */
  public static final int MAX_DEPTH = 64;

  private static final ObjectMapper MAPPER = build();
  private static final ObjectWriter PRETTY = MAPPER.writer(new HousePrinter(true));
  private static final ObjectWriter LINE = MAPPER.writer(new HousePrinter(false));
  private static final ObjectWriter COMPACT = MAPPER.writer();

  private JsonFiles() {}

  private static ObjectMapper build() {
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_DEPTH)
            .build())
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    SimpleModule nonFinite = new SimpleModule("deepspg-non-finite-as-null");
    nonFinite.addSerializer(Double.class, new NonFiniteAsNull<>(Double.class));
    nonFinite.addSerializer(Double.TYPE, new NonFiniteAsNull<>(Double.TYPE));
    nonFinite.addSerializer(Float.class, new NonFiniteAsNull<>(Float.class));
    nonFinite.addSerializer(Float.TYPE, new NonFiniteAsNull<>(Float.TYPE));
    nonFinite.addDeserializer(Double.TYPE, new NullAsNaN());
    return JsonMapper.builder(factory)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
        .enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN)
        .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
        .addModule(nonFinite)
        .build();
  }

  /**
   * The shared, configured mapper (thread-safe; do not reconfigure it). For typed reads and writes that the helpers
   * here do not cover, e.g. {@code mapper().treeToValue(node, MyRecord.class)}.
   *
   * @return the mapper
   */
  public static ObjectMapper mapper() {
    return MAPPER;
  }

  // ---------------------------------------------------------------------------------------------------------- reading

  /**
   * Reads a JSON file of at most {@link #DEFAULT_MAX_BYTES}.
   *
   * @param file the file (UTF-8)
   * @return the root value
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException if it is larger than the limit or not valid JSON (the message names the file)
   */
  public static JsonNode readTree(Path file) throws IOException {
    return readTree(file, DEFAULT_MAX_BYTES);
  }

  /**
   * Reads a JSON file of at most {@code maxBytes} bytes; a larger file is refused before it is parsed.
   *
   * @param file the file (UTF-8)
   * @param maxBytes the size limit, &gt;= 1
   * @return the root value
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException if it is larger than the limit or not valid JSON (the message names the file)
   */
  public static JsonNode readTree(Path file, long maxBytes) throws IOException {
    byte[] bytes = readBounded(file, maxBytes);
    try {
      return parseBytes(bytes);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads a JSON document from a stream, at most {@code maxBytes} bytes (the stream is not closed).
   *
   * @param in the stream (UTF-8)
   * @param maxBytes the size limit, &gt;= 1
   * @return the root value
   * @throws IOException if the stream cannot be read
   * @throws IllegalArgumentException if it is longer than the limit or not valid JSON
   */
  public static JsonNode readTree(InputStream in, long maxBytes) throws IOException {
    checkLimit(maxBytes);
    byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
    if (bytes.length > maxBytes) {
      throw new IllegalArgumentException("JSON document longer than " + maxBytes + " bytes");
    }
    return parseBytes(bytes);
  }

  /**
   * Parses JSON text.
   *
   * @param text the whole document
   * @return the root value
   * @throws IllegalArgumentException if it is not valid JSON (the message gives line and column)
   */
  public static JsonNode parse(String text) {
    return parseBytes(text.getBytes(StandardCharsets.UTF_8));
  }

  private static JsonNode parseBytes(byte[] bytes) {
    try {
      JsonNode n = MAPPER.readTree(bytes);
      // readTree gives a MissingNode for an empty document; JSON requires a value.
      if (n == null || n.isMissingNode()) throw new IllegalArgumentException("malformed JSON: empty document");
      return n;
    } catch (IOException e) {
      throw malformed(e);
    }
  }

  private static IllegalArgumentException malformed(IOException e) {
    String msg = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
    String where = "";
    if (e instanceof JsonProcessingException j && j.getLocation() != null) {
      where = " at line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr();
    }
    return new IllegalArgumentException("malformed JSON" + where + ": " + msg, e);
  }

  private static byte[] readBounded(Path file, long maxBytes) throws IOException {
    checkLimit(maxBytes);
    if (Files.isRegularFile(file) && Files.size(file) > maxBytes) {
      throw new IllegalArgumentException(file + ": " + Files.size(file) + " bytes, larger than the " + maxBytes
          + "-byte limit for a JSON file");
    }
    try (InputStream in = Files.newInputStream(file)) {
      byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
      if (b.length > maxBytes) {
        throw new IllegalArgumentException(file + ": larger than the " + maxBytes + "-byte limit for a JSON file");
      }
      return b;
    }
  }

  private static void checkLimit(long maxBytes) {
    if (maxBytes < 1 || maxBytes > DEFAULT_MAX_BYTES) {
      throw new IllegalArgumentException("maxBytes must be in [1, " + DEFAULT_MAX_BYTES + "], got " + maxBytes);
    }
  }

  // ------------------------------------------------------------------------------------------------- typed accessors

  /**
   * Member {@code key} of a JSON object as an object.
   *
   * @param node a JSON object
   * @param key the member name
   * @return the member
   * @throws IllegalArgumentException if it is missing or not an object
   */
  public static JsonNode object(JsonNode node, String key) {
    JsonNode v = require(node, key);
    if (!v.isObject()) throw new IllegalArgumentException("JSON member '" + key + "' is not an object: " + v);
    return v;
  }

  /**
   * Member {@code key} of a JSON object as an int: an integer literal, or a number with an integral value.
   *
   * @param node a JSON object
   * @param key the member name
   * @return the value
   * @throws IllegalArgumentException if it is missing, not a number, fractional or outside the int range
   */
  public static int integer(JsonNode node, String key) {
    return toInt(require(node, key), key);
  }

  /**
   * Member {@code key} of a JSON object as a double.
   *
   * @param node a JSON object
   * @param key the member name
   * @return the value
   * @throws IllegalArgumentException if it is missing or not a number
   */
  public static double number(JsonNode node, String key) {
    JsonNode v = require(node, key);
    if (!v.isNumber()) throw new IllegalArgumentException("JSON member '" + key + "' is not a number: " + v);
    return v.doubleValue();
  }

  /**
   * Member {@code key} of a JSON object as a string.
   *
   * @param node a JSON object
   * @param key the member name
   * @return the value
   * @throws IllegalArgumentException if it is missing or not a string
   */
  public static String string(JsonNode node, String key) {
    JsonNode v = require(node, key);
    if (!v.isTextual()) throw new IllegalArgumentException("JSON member '" + key + "' is not a string: " + v);
    return v.textValue();
  }

  /**
   * Member {@code key} of a JSON object as an array of ints (each as in {@link #integer}).
   *
   * @param node a JSON object
   * @param key the member name
   * @return the values
   * @throws IllegalArgumentException if it is missing, not an array, or holds a non-int
   */
  public static int[] intArray(JsonNode node, String key) {
    JsonNode v = require(node, key);
    if (!v.isArray()) throw new IllegalArgumentException("JSON member '" + key + "' is not an array: " + v);
    int[] out = new int[v.size()];
    for (int i = 0; i < out.length; i++) out[i] = toInt(v.get(i), key + "[" + i + "]");
    return out;
  }

  private static JsonNode require(JsonNode node, String key) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("expected a JSON object holding '" + key + "', got " + node);
    }
    JsonNode v = node.get(key);
    if (v == null) {
      java.util.List<String> have = new java.util.ArrayList<>();
      node.fieldNames().forEachRemaining(have::add);
      throw new IllegalArgumentException("JSON member '" + key + "' is missing (have " + have + ")");
    }
    return v;
  }

  private static int toInt(JsonNode v, String what) {
    if (v.isIntegralNumber() && v.canConvertToInt()) return v.intValue();
    if (v.isFloatingPointNumber()) {
      double d = v.doubleValue();
      if (d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE) return (int) d;
    }
    throw new IllegalArgumentException("JSON value '" + what + "' is not an int: " + v);
  }

  // ---------------------------------------------------------------------------------------------------------- writing

  /**
   * A double as the shortest JSON number: an integral value as an integer ({@code 1} rather than {@code 1.0}), as
   * the synthetic-dataset files have always written them; other values unchanged (non-finite ones become
   * {@code null} when written).
   *
   * @param v the value
   * @return a {@link Long} for integral values below 10^15 in magnitude, else the {@link Double}
   */
  public static Number shortNumber(double v) {
    return Double.isFinite(v) && v == Math.rint(v) && Math.abs(v) < 1e15 ? (Number) (long) v : (Number) v;
  }

  /**
   * A value as report-style JSON (see the class comment), ending with a newline.
   *
   * @param value a record, map, list, tree or scalar
   * @return the text
   */
  public static String toPretty(Object value) {
    return write(PRETTY, value) + "\n";
  }

  /**
   * A value as JSON on one line with {@code ", "} and {@code ": "} separators, without a newline.
   *
   * @param value a record, map, list, tree or scalar
   * @return the text
   */
  public static String toLine(Object value) {
    return write(LINE, value);
  }

  /**
   * A value as JSON on one line without spaces, without a newline.
   *
   * @param value a record, map, list, tree or scalar
   * @return the text
   */
  public static String toCompact(Object value) {
    return write(COMPACT, value);
  }

  /**
   * Writes {@link #toPretty} of a value to a file atomically ({@link AtomicFile}; parent folders are created).
   *
   * @param file the target
   * @param value what to write
   * @throws IOException when writing fails (the target is then unchanged)
   */
  public static void writePretty(Path file, Object value) throws IOException {
    AtomicFile.write(file, toPretty(value).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Writes {@link #toLine} of a value followed by a newline to a file atomically.
   *
   * @param file the target
   * @param value what to write
   * @throws IOException when writing fails (the target is then unchanged)
   */
  public static void writeLine(Path file, Object value) throws IOException {
    AtomicFile.write(file, (toLine(value) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Writes JSON lines (one {@link #toLine} value per line, each ending with a newline) atomically.
   *
   * @param file the target
   * @param values the lines' values, in order
   * @throws IOException when writing fails (the target is then unchanged)
   */
  public static void writeLines(Path file, Iterable<?> values) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (Object v : values) b.writeBytes((toLine(v) + "\n").getBytes(StandardCharsets.UTF_8));
    AtomicFile.write(file, b.toByteArray());
  }

  private static String write(ObjectWriter w, Object value) {
    try {
      return w.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      // Only our own in-memory values get here: a failure is a programming error (e.g. an unmappable type).
      throw new UncheckedIOException("cannot write " + (value == null ? "null" : value.getClass().getName())
          + " as JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Writes non-finite doubles and floats as {@code null}; finite ones as Jackson does (shortest round-trip text). */
  private static final class NonFiniteAsNull<T extends Number> extends StdSerializer<T> {
    NonFiniteAsNull(Class<T> type) {
      super(type);
    }

    @Override
    public void serialize(T value, JsonGenerator g, SerializerProvider provider) throws IOException {
      if (value instanceof Float f) {
        if (Float.isFinite(f)) g.writeNumber(f);
        else g.writeNull();
      } else {
        double d = value.doubleValue();
        if (Double.isFinite(d)) g.writeNumber(d);
        else g.writeNull();
      }
    }
  }

  /**
   * Reads a primitive {@code double} strictly (numbers only, no strings) and {@code null} as NaN: the reverse of
   * {@link NonFiniteAsNull}, so records with "not measured" values read back what was written.
   */
  private static final class NullAsNaN extends StdScalarDeserializer<Double> {
    NullAsNaN() {
      super(Double.TYPE);
    }

    @Override
    public Double deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() != null && p.currentToken().isNumeric()) return p.getDoubleValue();
      return (Double) ctxt.handleUnexpectedToken(Double.TYPE, p);
    }

    @Override
    public Double getNullValue(DeserializationContext ctxt) {
      return Double.NaN;
    }
  }

  /**
   * The line layouts of {@link #toPretty} ({@code multiline}) and {@link #toLine}: a container breaks its lines only
   * when it is the root, or an array that is a member of the root; everything else is on one line.
   */
  private static final class HousePrinter implements PrettyPrinter, Instantiatable<HousePrinter> {
    private final boolean multiline;
    private int depth;

    HousePrinter(boolean multiline) {
      this.multiline = multiline;
    }

    @Override
    public HousePrinter createInstance() {
      return new HousePrinter(multiline);
    }

    private boolean breaks(boolean array) {
      return multiline && (depth == 1 || (depth == 2 && array));
    }

    private void newline(JsonGenerator g, int indent) throws IOException {
      g.writeRaw('\n');
      for (int i = 0; i < indent; i++) g.writeRaw("  ");
    }

    @Override
    public void writeRootValueSeparator(JsonGenerator g) throws IOException {
      g.writeRaw('\n');
    }

    @Override
    public void writeStartObject(JsonGenerator g) throws IOException {
      g.writeRaw('{');
      depth++;
    }

    @Override
    public void beforeObjectEntries(JsonGenerator g) throws IOException {
      if (breaks(false)) newline(g, depth);
    }

    @Override
    public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
      g.writeRaw(": ");
    }

    @Override
    public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
      g.writeRaw(',');
      if (breaks(false)) newline(g, depth);
      else g.writeRaw(' ');
    }

    @Override
    public void writeEndObject(JsonGenerator g, int entries) throws IOException {
      if (entries > 0 && breaks(false)) newline(g, depth - 1);
      depth--;
      g.writeRaw('}');
    }

    @Override
    public void writeStartArray(JsonGenerator g) throws IOException {
      g.writeRaw('[');
      depth++;
    }

    @Override
    public void beforeArrayValues(JsonGenerator g) throws IOException {
      if (breaks(true)) newline(g, depth);
    }

    @Override
    public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
      g.writeRaw(',');
      if (breaks(true)) newline(g, depth);
      else g.writeRaw(' ');
    }

    @Override
    public void writeEndArray(JsonGenerator g, int values) throws IOException {
      if (values > 0 && breaks(true)) newline(g, depth - 1);
      depth--;
      g.writeRaw(']');
    }
  }
}
