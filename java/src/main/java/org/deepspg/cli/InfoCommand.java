/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.NativeLibrary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code deepspg info}: versions, the loaded native libraries and whether CUDA kernels and a GPU are available.
 */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Print versions, native libraries and devices.")
public final class InfoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    NativeLibrary.ensureLoaded();
    out.println("deepspg: " + Versions.DEEPSPG);
    out.println("java: " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
    out.println("platform: " + Loader.getPlatform());
    out.println("libtorch: bytedeco pytorch " + Versions.pytorchArtifact() + ", javacpp " + Versions.javacpp());
    out.println("libtorch threads: " + torch.get_num_threads());
    out.println("kernels: " + NativeLibrary.buildInfo());
    out.println("kernels library: " + NativeLibrary.libraryPath());
    out.println("cuda kernels compiled: " + (NativeLibrary.cudaKernelsCompiled() ? "yes" : "no"));
    out.println("cuda devices (kernels): " + NativeLibrary.cudaDeviceCount());
    out.println("cuda available (libtorch): " + (torch.cuda_is_available() ? "yes" : "no"));
    out.flush();
    return 0;
  }
}
