/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.kernels.presets;

import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * JavaCPP preset of {@code deepspg/kernels.h}: the Parser turns the C header into
 * {@code org.deepspg.kernels.global.kernels} (static native methods, one per C function). Mapping only; validation
 * and tensor handling live in the {@code org.deepspg.ops} façades of the {@code deepspg} module.
 */
@Properties(
    target = "org.deepspg.kernels.global.kernels",
    value = @Platform(include = "deepspg/kernels.h", link = "deepspg_kernels"))
public class kernels implements InfoMapper {
  @Override
  public void map(InfoMap infoMap) {
    infoMap.put(new Info("DEEPSPG_KERNELS_H").cppTypes().annotations());
  }
}
