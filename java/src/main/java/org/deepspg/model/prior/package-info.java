/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
/**
 * What HRNet and CLIP share: the user-brought weight files and the guidance when they are missing
 * ({@link org.deepspg.model.prior.PriorWeights}, {@link org.deepspg.model.prior.MissingWeightsException}). Their
 * JSON configuration files are read with {@link org.deepspg.io.JsonFiles}.
 */
package org.deepspg.model.prior;
