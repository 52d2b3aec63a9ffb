/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.deepspg.data.Image;
import org.deepspg.data.ImageReadException;
import org.deepspg.data.Images;
import org.deepspg.infer.Enhancer;
import org.deepspg.io.RealPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepspg demo}: enhances the bundled low-light samples ({@code samples/} of the repository) into
 * {@code out/demo/} and writes {@code out/demo/index.html}, a page of before/after pairs with relative links (a TIFF,
 * which browsers do not show, appears as a PNG copy beside it that links the TIFF).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Enhance the bundled sample images into out/demo/ and write a before/after page (index.html).")
public final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = {"-o", "--output"}, paramLabel = "DIR", defaultValue = "out/demo",
      description = "Output folder (default: ${DEFAULT-VALUE}).")
  Path outDir;

  @Option(names = "--samples", paramLabel = "DIR",
      description = "Folder of input images (default: the repository's samples/ folder); the page shows a TIFF as a "
          + "PNG copy.")
  Path samples;

  @Mixin EnhanceOptions options;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path dir = samples != null ? samples : findSamples();
    if (dir == null || !Files.isDirectory(dir)) {
      err.println("deepspg: sample folder not found" + (dir == null ? " (looked for samples/ in the working "
          + "directory and the repository root)" : ": " + dir) + "; pass --samples DIR");
      err.flush();
      return 2;
    }
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(f -> Files.isRegularFile(f) && Images.hasImageExtension(f)).sorted().forEach(files::add);
    }
    if (files.isEmpty()) {
      err.println("deepspg: no images in " + dir);
      err.flush();
      return 2;
    }
    Path inDir = outDir.resolve("input");
    Path enDir = outDir.resolve("enhanced");
    // Refuse before any work when an enhanced image would land on a sample (--samples OUT/enhanced).
    java.util.Set<Path> inputs = new java.util.HashSet<>();
    for (Path f : files) inputs.add(RealPaths.of(f));
    for (Path f : files) {
      Path o = enDir.resolve(EnhanceCommand.outputName(f.getFileName()).toString());
      if (inputs.contains(RealPaths.of(o))) {
        err.println("deepspg: refusing to run: the output " + o + " would overwrite the sample " + f
            + "; choose an output folder away from the samples");
        err.flush();
        return 2;
      }
    }
    Enhancer enhancer;
    try {
      enhancer = options.build();
    } catch (IOException e) {
      err.println("deepspg: " + e.getMessage());
      err.flush();
      return 2;
    }
    Files.createDirectories(inDir);
    Files.createDirectories(enDir);
    List<String[]> rows = new ArrayList<>(); // name, input rel, output rel, info, input preview, output preview
    int failed = 0;
    try (enhancer) {
      out.println("demo: " + files.size() + " samples from " + dir + " with " + enhancer.modelSource()
          + (enhancer.device().equals("cpu") ? ", oneDNN " + enhancer.oneDnn().describe() : ""));
      out.flush();
      java.util.Map<String, Path> claimed = new java.util.HashMap<>(); // output name -> the sample that has it
      for (Path f : files) {
        String name = f.getFileName().toString();
        String outName = EnhanceCommand.outputName(Path.of(name)).toString();
        // Browsers show no TIFF: the page shows a PNG copy of each side (NAME.png beside it) and links the TIFF.
        boolean preview = !BROWSER_FORMATS.contains(Images.extension(Path.of(outName)));
        Path prev = claimed.putIfAbsent(outName, f);
        if (prev == null && preview) prev = claimed.putIfAbsent(outName + ".png", f);
        if (prev != null) { // w.png and w.webp both become enhanced/w.png: one would replace the other's result
          failed++;
          err.println("deepspg: " + f + ": its output enhanced/" + outName + " is already the output of " + prev
              + "; skipped");
          continue;
        }
        try {
          long t0 = System.nanoTime();
          Image in = Images.read(f);
          Image res = enhancer.enhance(in);
          double secs = (System.nanoTime() - t0) / 1e9;
          Files.copy(f, inDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
          Images.writeAtomic(res, enDir.resolve(outName));
          if (preview) {
            Images.writeAtomic(in, inDir.resolve(name + ".png"));
            Images.writeAtomic(res, enDir.resolve(outName + ".png"));
          }
          String shown = preview ? ".png" : "";
          rows.add(new String[] {name, "input/" + name, "enhanced/" + outName,
              String.format(Locale.ROOT, "%d×%d, %.1f s", in.width(), in.height(), secs), "input/" + name + shown,
              "enhanced/" + outName + shown});
          out.printf(Locale.ROOT, "  %s (%.1f s)%n", name, secs);
          out.flush();
        } catch (ImageReadException e) {
          failed++;
          err.println("deepspg: " + f + ": " + e.reason());
        } catch (IOException | RuntimeException e) {
          failed++;
          err.println("deepspg: " + f + ": " + e.getMessage());
        }
      }
      Path index = outDir.resolve("index.html");
      Images.writeBytesAtomic(html(rows, enhancer).getBytes(StandardCharsets.UTF_8), index);
      out.println("wrote " + index + " (open it in a browser)");
      out.flush();
    }
    err.flush();
    return failed > 0 ? Main.EXIT_SOME_FAILED : 0;
  }

  /** Extensions of the formats a browser shows in an {@code <img>}; the page shows a PNG copy of the others. */
  static final java.util.Set<String> BROWSER_FORMATS = java.util.Set.of("png", "jpg", "jpeg", "jpe", "bmp", "webp");

  /** The repository's samples/ folder: the working directory's, else the one above the code location. */
  static Path findSamples() {
    Path cwd = Path.of("samples");
    if (Files.isDirectory(cwd)) return cwd;
    try {
      Path code = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      // java/target/classes (launcher) or java/target/deepspg-*.jar -> repository root is three levels up.
      for (Path p = code; p != null; p = p.getParent()) {
        Path s = p.resolve("samples");
        if (Files.isDirectory(s) && Files.exists(p.resolve("deepspg"))) return s;
      }
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      return null;
    }
    return null;
  }

  static String html(List<String[]> rows, Enhancer e) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<title>DeepSPG demo</title>\n<style>\n")
        .append("body{font-family:sans-serif;margin:2em;background:#fafafa;color:#222}\n")
        .append("table{border-collapse:collapse}td,th{padding:6px;vertical-align:top}\n")
        .append("img{max-width:420px;height:auto;display:block;border:1px solid #ccc}\n")
        .append(".info{font-size:85%;color:#555}\n</style>\n</head>\n<body>\n")
        .append("<h1>DeepSPG low-light enhancement demo</h1>\n")
        .append("<p>Model: ").append(escape(e.modelSource())).append(" — ").append(escape(e.config().describe()))
        .append(", device ").append(escape(e.device())).append(". Sample sources and licences: ")
        .append("<code>samples/ATTRIBUTION.md</code> in the repository.</p>\n")
        .append("<table>\n<tr><th>low-light input</th><th>enhanced</th></tr>\n");
    for (String[] r : rows) { // each image links its file: a TIFF's shown PNG copy links the TIFF
      sb.append("<tr><td><a href=\"").append(escape(href(r[1]))).append("\"><img src=\"")
          .append(escape(href(r[4]))).append("\" alt=\"input ").append(escape(r[0]))
          .append("\"></a></td><td><a href=\"").append(escape(href(r[2]))).append("\"><img src=\"")
          .append(escape(href(r[5]))).append("\" alt=\"enhanced ").append(escape(r[0]))
          .append("\"></a></td></tr>\n<tr><td colspan=\"2\" class=\"info\">")
          .append(escape(r[0])).append(" — ").append(escape(r[3]))
          .append(r[4].equals(r[1]) ? "" : " (shown as PNG; the links open the TIFF files)").append("</td></tr>\n");
    }
    sb.append("</table>\n</body>\n</html>\n");
    return sb.toString();
  }

  /** Percent-encodes the characters of a relative file link that a browser would misread. */
  static String href(String rel) {
    return rel.replace("%", "%25").replace(" ", "%20").replace("#", "%23").replace("?", "%3F");
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
