/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.deepspg.io.AtomicFile;

/**
 * PNG line charts of a training run (losses, learning rate, validation PSNR/SSIM) drawn with Java2D, no plotting
 * dependency. Written atomically so a viewer never sees half a file.
 */
public final class Plots {
  private static final Color[] PALETTE = {
    new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
    new Color(0x8c564b), new Color(0xe377c2)
  };

  private Plots() {}

  /**
   * Writes one chart.
   *
   * @param file PNG path
   * @param title chart title
   * @param xLabel x-axis label
   * @param series name to (x, y) points; NaN points are skipped
   * @param logY logarithmic y axis (non-positive values skipped)
   * @throws IOException on write failure
   */
  public static void lineChart(Path file, String title, String xLabel, Map<String, double[][]> series, boolean logY)
      throws IOException {
    int w = 900, h = 480, left = 80, right = 180, top = 40, bottom = 50;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    double xmin = Double.POSITIVE_INFINITY, xmax = Double.NEGATIVE_INFINITY;
    double ymin = Double.POSITIVE_INFINITY, ymax = Double.NEGATIVE_INFINITY;
    for (double[][] pts : series.values()) {
      for (double[] p : pts) {
        double y = logY ? (p[1] > 0 ? Math.log10(p[1]) : Double.NaN) : p[1];
        if (!Double.isFinite(p[0]) || !Double.isFinite(y)) continue;
        xmin = Math.min(xmin, p[0]);
        xmax = Math.max(xmax, p[0]);
        ymin = Math.min(ymin, y);
        ymax = Math.max(ymax, y);
      }
    }
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString(title, left, 25);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawRect(left, top, w - left - right, h - top - bottom);
    g.drawString(xLabel, left + (w - left - right) / 2 - 20, h - 12);
    if (xmin > xmax) {
      g.drawString("no data yet", left + 20, top + 30);
    } else {
      if (xmax == xmin) xmax = xmin + 1;
      if (ymax == ymin) {
        ymax += 0.5;
        ymin -= 0.5;
      }
      double pad = 0.05 * (ymax - ymin);
      ymin -= pad;
      ymax += pad;
      int pw = w - left - right, ph = h - top - bottom;
      for (int i = 0; i <= 5; i++) {
        double yv = ymin + (ymax - ymin) * i / 5;
        int py = top + ph - (int) Math.round(ph * i / 5.0);
        g.setColor(new Color(230, 230, 230));
        g.drawLine(left + 1, py, left + pw - 1, py);
        g.setColor(Color.BLACK);
        String lab = logY ? String.format(Locale.ROOT, "%.3g", Math.pow(10, yv)) : String.format(Locale.ROOT, "%.4g", yv);
        g.drawString(lab, 5, py + 4);
        double xv = xmin + (xmax - xmin) * i / 5;
        int px = left + (int) Math.round(pw * i / 5.0);
        g.drawString(String.format(Locale.ROOT, "%.4g", xv), px - 15, top + ph + 18);
      }
      int k = 0;
      g.setStroke(new BasicStroke(1.6f));
      for (Map.Entry<String, double[][]> e : series.entrySet()) {
        Color c = PALETTE[k % PALETTE.length];
        g.setColor(c);
        int prevX = Integer.MIN_VALUE, prevY = 0;
        for (double[] p : e.getValue()) {
          double y = logY ? (p[1] > 0 ? Math.log10(p[1]) : Double.NaN) : p[1];
          if (!Double.isFinite(p[0]) || !Double.isFinite(y)) continue;
          int px = left + (int) Math.round((p[0] - xmin) / (xmax - xmin) * pw);
          int py = top + ph - (int) Math.round((y - ymin) / (ymax - ymin) * ph);
          if (prevX != Integer.MIN_VALUE) g.drawLine(prevX, prevY, px, py);
          else g.fillOval(px - 2, py - 2, 4, 4);
          prevX = px;
          prevY = py;
        }
        g.fillRect(w - right + 15, top + 10 + 20 * k, 14, 4);
        g.setColor(Color.BLACK);
        g.drawString(e.getKey(), w - right + 35, top + 16 + 20 * k);
        k++;
      }
    }
    g.dispose();
    AtomicFile.write(file, out -> ImageIO.write(img, "png", out));
  }

  /** The charts {@link #writeTrainingPlots} writes into a run folder (losses, learning rate, val PSNR, val SSIM). */
  static final List<String> TRAINING_PLOTS = List.of("losses.png", "lr.png", "val_psnr.png", "val_ssim.png");

  /**
   * Writes {@link #TRAINING_PLOTS} (losses.png, lr.png, and val_psnr.png, val_ssim.png when the log has validation
   * records) for a metrics log into a folder.
   *
   * @param log the run's records
   * @param dir output folder
   * @throws IOException on write failure
   */
  public static void writeTrainingPlots(MetricsLog log, Path dir) throws IOException {
    Path lossChart = dir.resolve(TRAINING_PLOTS.get(0)), lrChart = dir.resolve(TRAINING_PLOTS.get(1));
    Path psnrChart = dir.resolve(TRAINING_PLOTS.get(2)), ssimChart = dir.resolve(TRAINING_PLOTS.get(3));
    LinkedHashMap<String, List<double[]>> losses = new LinkedHashMap<>();
    List<double[]> lr = new ArrayList<>();
    LinkedHashMap<String, List<double[]>> val = new LinkedHashMap<>();
    for (MetricsLog.Entry e : log.entries()) {
      double step = e.values().getOrDefault("step", Double.NaN);
      for (Map.Entry<String, Double> v : e.values().entrySet()) {
        String k = v.getKey();
        if (e.kind().equals("train") && k.startsWith("loss")) {
          losses.computeIfAbsent(k, x -> new ArrayList<>()).add(new double[] {step, v.getValue()});
        } else if (e.kind().equals("train") && k.equals("lr")) {
          lr.add(new double[] {step, v.getValue()});
        } else if (e.kind().equals("val") && (k.startsWith("psnr") || k.startsWith("ssim"))) {
          val.computeIfAbsent(k, x -> new ArrayList<>()).add(new double[] {step, v.getValue()});
        }
      }
    }
    lineChart(lossChart, "training losses (log scale)", "step", arrays(losses), true);
    lineChart(lrChart, "learning rate", "step", Map.of("lr", lr.toArray(new double[0][])), false);
    LinkedHashMap<String, List<double[]>> psnr = new LinkedHashMap<>();
    LinkedHashMap<String, List<double[]>> ssim = new LinkedHashMap<>();
    val.forEach((k, v) -> (k.startsWith("psnr") ? psnr : ssim).put(k, v));
    if (!val.isEmpty()) { // a run without validation draws no empty charts
      lineChart(psnrChart, "validation PSNR (dB)", "step", arrays(psnr), false);
      lineChart(ssimChart, "validation SSIM", "step", arrays(ssim), false);
    }
  }

  private static Map<String, double[][]> arrays(Map<String, List<double[]>> m) {
    LinkedHashMap<String, double[][]> r = new LinkedHashMap<>();
    m.forEach((k, v) -> r.put(k, v.toArray(new double[0][])));
    return r;
  }
}
