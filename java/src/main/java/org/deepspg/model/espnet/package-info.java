/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
/**
 * ESPNetv2 semantic segmentation (Mehta et al., CVPR 2019), written from the architecture description in
 * {@code ../shared/priors/espnetv2/SOURCES.md}; loads the upstream legacy {@code .pth} files through the safe
 * reader of {@code org.deepspg.model.io} (no code execution). See docs/priors.md.
 */
package org.deepspg.model.espnet;
