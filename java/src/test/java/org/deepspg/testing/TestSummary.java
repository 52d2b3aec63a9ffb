/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints one honest closing line for the test run: tests passed, failed and skipped, where a test class skipped as a
 * whole (an assumption in {@code @BeforeAll}, e.g. the shared fixtures folder is absent) counts all its tests as
 * skipped. Surefire's own summary counts such classes as zero tests, which understates what did not run.
 */
public final class TestSummary implements TestExecutionListener {
  private final AtomicInteger passed = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final AtomicInteger skipped = new AtomicInteger();
  private final TreeSet<String> skippedClasses = new TreeSet<>();
  private final List<String> reasons = new ArrayList<>();
  private TestPlan plan;

  @Override
  public void testPlanExecutionStarted(TestPlan testPlan) {
    plan = testPlan;
  }

  @Override
  public void executionSkipped(TestIdentifier id, String reason) {
    count(id, reason);
  }

  @Override
  public synchronized void executionFinished(TestIdentifier id, TestExecutionResult result) {
    switch (result.getStatus()) {
      case SUCCESSFUL -> {
        if (id.isTest()) passed.incrementAndGet();
      }
      case FAILED -> {
        if (id.isTest()) failed.incrementAndGet();
      }
      case ABORTED -> count(id, result.getThrowable().map(Throwable::getMessage).orElse(""));
      default -> { }
    }
  }

  private synchronized void count(TestIdentifier id, String reason) {
    if (id.isTest()) {
      skipped.incrementAndGet();
      return;
    }
    // A skipped or aborted container: none of its tests ran.
    int n = tests(id);
    skipped.addAndGet(n);
    if (n > 0 && id.getSource().orElse(null) instanceof ClassSource c) {
      skippedClasses.add(c.getJavaClass().getSimpleName() + " (" + n + ")");
      if (reason != null && !reason.isEmpty() && !reasons.contains(reason)) reasons.add(reason);
    }
  }

  private int tests(TestIdentifier id) {
    if (plan == null) return 0;
    int n = 0;
    for (TestIdentifier c : plan.getChildren(id)) n += c.isTest() ? 1 : tests(c);
    return n;
  }

  @Override
  public void testPlanExecutionFinished(TestPlan testPlan) {
    System.out.println();
    if (!skippedClasses.isEmpty()) {
      System.out.println("Test classes skipped as a whole: " + String.join(", ", skippedClasses));
      for (String r : reasons) System.out.println("  because: " + r);
    }
    System.out.println("tests: " + passed.get() + " passed, " + failed.get() + " failed, " + skipped.get()
        + " skipped");
  }
}
