/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
/** JMH benchmarks: each fused DeepSPG op against the same math composed from stock libtorch ops. */
package org.deepspg.benchmarks;
