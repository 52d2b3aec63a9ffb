/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
/**
 * OpenAI CLIP with a ViT image tower, the frozen text-level prior of DeepSPG (spec §5.2, §4.4):
 * {@link org.deepspg.model.clip.ClipConfig} (explicit heads, ViT-B/16 preset),
 * {@link org.deepspg.model.clip.Clip} (module tree with OpenAI's state-dict names, encoders, loading) and
 * {@link org.deepspg.model.clip.ClipPreprocess} (differentiable resize/crop/normalise). The BPE tokenizer lives
 * here too, in its own classes.
 */
package org.deepspg.model.clip;
