/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
/**
 * Inference. One job per class:
 *
 * <ul>
 *   <li>{@link org.deepspg.infer.Pipeline}: the one forward pipeline on tensors (pad with {@link
 *       org.deepspg.infer.Padding} → prior → network → crop), shared by training, evaluation and everything below;
 *       works with and without autograd.</li>
 *   <li>{@code Engine}: the pipeline on one device without gradients, with the memory check
 *       ({@link org.deepspg.infer.MemoryBudget}); host images cross through {@link org.deepspg.data.ImageTensors}
 *       once each way per pass.</li>
 *   <li>{@code Tiler}: large images tile by tile ({@link org.deepspg.infer.TilePlan}, {@link
 *       org.deepspg.infer.TileOptions}) with the shared attention context; {@code Batcher}: same-size images per
 *       pass.</li>
 *   <li>{@link org.deepspg.infer.Enhancer}: the public facade (builder, enhance overloads, stats, close);
 *       {@code EnhancerLoader} loads its models and runs the oneDNN self-check.</li>
 *   <li>{@code OutputGuard}: refuses non-finite or collapsed outputs ({@link
 *       org.deepspg.infer.BadOutputException}).</li>
 * </ul>
 *
 * <p>{@code infer} depends on {@code data}, {@code model} and {@code ops}; {@code train} uses the {@code Pipeline}.
 */
package org.deepspg.infer;
