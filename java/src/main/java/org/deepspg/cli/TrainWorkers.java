/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deepspg.train.TrainConfig;

/**
 * {@code deepspg train --nproc N}: starts N worker JVMs on this host, one per rank, that meet at a TCPStore on a free
 * loopback port and train together ({@link org.deepspg.train.DataParallel}); waits for them and stops the rest when
 * one fails, as {@code torchrun} does.
 *
 * <p>Each worker is this JVM's command again (same java, JVM options, class path, {@code deepspg.*} and
 * {@code org.bytedeco.*} system properties, environment) running {@code train ... --rank r --world-size N --master
 * 127.0.0.1:PORT}. Unless the configuration, {@code -Ddeepspg.threads} or {@code OMP_NUM_THREADS} says otherwise,
 * each worker gets {@code max(1, processors / N)} libtorch threads so that the workers do not oversubscribe the cores.
 * Rank 0 prints to this console; the others' lines are prefixed with {@code [rank r]} (they print only warnings and
 * errors).
 */
final class TrainWorkers {
  /** System property that tells a worker its launcher's process id ({@link #exitWithLauncher}). */
  static final String LAUNCHER_PID = "deepspg.train.launcher_pid";
  /** How long the other workers may take to stop by themselves after one failed, before they are killed. */
  static final long GRACE_MS = 20_000;

  private TrainWorkers() {}

  /**
   * Runs the workers to the end.
   *
   * @param n number of workers (≥ 2)
   * @param args the train command's arguments without overrides
   * @param overrides key=value overrides
   * @param cfg the resolved configuration (for the thread default)
   * @param err where the launcher reports
   * @return 0 when every worker succeeded, else the exit code of the first that failed
   * @throws IOException when a worker cannot be started
   * @throws InterruptedException when interrupted while waiting
   */
  static int launch(int n, List<String> args, List<String> overrides, TrainConfig cfg, PrintWriter err)
      throws IOException, InterruptedException {
    int port = freePort();
    List<String> jvm = jvmCommand(n, cfg);
    List<Process> procs = new ArrayList<>();
    Thread hook = new Thread(() -> stopAll(procs), "deepspg-train-workers-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    int cores = Runtime.getRuntime().availableProcessors();
    if (cfg.threads() * n > cores) {
      err.printf(Locale.ROOT, "deepspg train: note: threads=%d per worker × %d workers > %d processors; "
          + "oversubscribed OpenMP threads run much slower (leave threads=0 to share the processors)%n",
          cfg.threads(), n, cores);
    }
    err.printf(Locale.ROOT, "deepspg train: starting %d workers (rendezvous 127.0.0.1:%d)%n", n, port);
    err.flush();
    try {
      List<Thread> pumps = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        List<String> cmd = new ArrayList<>(jvm);
        cmd.addAll(args);
        cmd.addAll(List.of("--rank", Integer.toString(r), "--world-size", Integer.toString(n), "--master",
            "127.0.0.1:" + port, "--"));
        cmd.addAll(overrides);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (r == 0) {
          pb.inheritIO();
        } else {
          pb.redirectErrorStream(true);
        }
        Process p = pb.start();
        procs.add(p);
        if (r > 0) pumps.add(pump(p, r, err));
      }
      int code = 0;
      int failed = -1;
      long failedAt = 0;
      boolean[] reported = new boolean[n];
      boolean killed = false;
      while (true) {
        boolean allDone = true;
        for (int r = 0; r < n; r++) {
          Process p = procs.get(r);
          if (p.isAlive()) {
            allDone = false;
          } else if (p.exitValue() != 0 && !reported[r] && !killed) {
            // Every worker that fails on its own is named: when one dies, the others stop with a collective error
            // soon after, and within one poll either may be seen first.
            reported[r] = true;
            int c = p.exitValue();
            boolean first = failed < 0;
            if (first) {
              failed = r;
              code = c;
              failedAt = System.currentTimeMillis();
            }
            err.printf(Locale.ROOT, "deepspg train: worker %d exited with code %d%s%s%n", r, c,
                c > 128 ? " (killed by signal " + (c - 128) + ")" : "", first ? "; stopping the others" : "");
            err.flush();
          }
        }
        if (allDone) break;
        if (failed >= 0 && System.currentTimeMillis() - failedAt > GRACE_MS) {
          killed = true; // exits from here on are ours
          stopAll(procs);
        }
        Thread.sleep(100);
      }
      for (Thread t : pumps) t.join(2000);
      return failed < 0 ? 0 : (code == 0 ? Main.EXIT_SOME_FAILED : code);
    } finally {
      stopAll(procs);
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running already
      }
    }
  }

  /** How long workers get to finish after SIGTERM before they are killed. */
  static final long STOP_GRACE_MS = 5_000;

  /**
   * Stops the workers still running: SIGTERM first, so that each runs its own shutdown clean-up (a checkpoint being
   * written leaves no temporary file: a 5 MB {@code .last.pth.deepspg-*.tmp} stayed in the run folder after the
   * launcher was sent SIGTERM, when this was SIGKILL at once; the scale-out audit, session 35), then SIGKILL for any
   * left after {@link #STOP_GRACE_MS}.
   */
  static void stopAll(List<Process> procs) {
    List<Process> alive = procs.stream().filter(Process::isAlive).toList();
    if (alive.isEmpty()) return;
    alive.forEach(Process::destroy);
    long until = System.nanoTime() + STOP_GRACE_MS * 1_000_000L;
    for (Process p : alive) {
      long left = until - System.nanoTime();
      try {
        if (left > 0) p.waitFor(left, java.util.concurrent.TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    alive.forEach(Process::destroyForcibly);
  }

  /** The java command of this JVM up to (and including) the main class. */
  private static List<String> jvmCommand(int n, TrainConfig cfg) {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>(List.of(java));
    List<String> given = ManagementFactory.getRuntimeMXBean().getInputArguments();
    for (String a : given) {
      if (a.startsWith("-agentlib:jdwp") || a.startsWith("-Xrunjdwp")) continue; // one debugger port per JVM
      cmd.add(a);
    }
    for (Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
      String k = e.getKey().toString();
      if (k.equals("deepspg.train.keys") || k.equals(LAUNCHER_PID)) continue;
      if (k.startsWith("deepspg.") || k.startsWith("org.bytedeco.")) {
        String d = "-D" + k + "=" + e.getValue();
        if (!given.contains(d)) cmd.add(d);
      }
    }
    boolean threadsSet = cfg.threads() > 0 || System.getProperty("deepspg.threads") != null
        || System.getenv("OMP_NUM_THREADS") != null;
    if (!threadsSet) {
      cmd.add("-Ddeepspg.threads=" + Math.max(1, Runtime.getRuntime().availableProcessors() / n));
    }
    cmd.add("-D" + LAUNCHER_PID + "=" + ProcessHandle.current().pid());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    return cmd;
  }

  /**
   * In a worker: stops this JVM once the launcher that started it is gone. A launcher killed with SIGKILL runs no
   * shutdown hook, and its workers went on training (and writing run.dir) with nobody to stop them.
   */
  static void exitWithLauncher() {
    String pid = System.getProperty(LAUNCHER_PID);
    if (pid == null) return;
    Runnable stop = () -> {
      System.err.println("deepspg train: the launcher (process " + pid + ") is gone; stopping this worker");
      System.err.flush();
      Runtime.getRuntime().exit(1);
    };
    try {
      ProcessHandle.of(Long.parseLong(pid)).ifPresentOrElse(h -> h.onExit().thenRun(stop), stop);
    } catch (NumberFormatException e) {
      // not ours: ignore
    }
  }

  private static Thread pump(Process p, int rank, PrintWriter err) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (err) {
            err.println("[rank " + rank + "] " + line);
            err.flush();
          }
        }
      } catch (IOException e) {
        // the worker is gone; its exit code tells the story
      }
    }, "deepspg-train-worker-" + rank + "-output");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port for the workers' rendezvous", e);
    }
  }
}
