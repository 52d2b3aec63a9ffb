/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
/**
 * HRNetV2 semantic segmentation ("seg_hrnet" of HRNet-Semantic-Segmentation), the frozen image-level semantic
 * prior of DeepSPG (spec §5.1): {@link org.deepspg.model.hrnet.HRNetConfig} (topology, W48 ADE20K preset, JSON),
 * {@link org.deepspg.model.hrnet.HRNet} (module tree with the official state-dict names, forward, loading).
 */
package org.deepspg.model.hrnet;
