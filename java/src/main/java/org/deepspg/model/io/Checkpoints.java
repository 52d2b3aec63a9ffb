/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads PyTorch checkpoints into a {@link StateDict}, in pure Java and without running any code from the file.
 * The format is detected from the first bytes: {@code PK} = zip ({@code torch.save} of PyTorch &gt;= 1.6 and
 * TorchScript archives such as OpenAI's CLIP {@code .pt}); {@code 0x80} = the legacy pickle stream (PyTorch &lt;
 * 1.6 or {@code _use_new_zipfile_serialization=False}, e.g. torch-0.4 HRNet checkpoints). See the package
 * documentation for naming rules and the safety allowlist.
 */
public final class Checkpoints {
  private Checkpoints() {}

  /**
   * Reads every tensor of a checkpoint. Names: for a saved state dict, its keys; for a TorchScript archive, the
   * module-tree attribute paths joined with '.' (parameters and buffers, plus any other tensor attributes);
   * for nested dicts (e.g. {@code {"state_dict": ...}}) the keys joined with '.'. Storage devices ({@code cuda:0})
   * are ignored: everything is read to the heap.
   *
   * @param file a {@code .pth} / {@code .pt} / {@code .ckpt} file
   * @return the tensors in file order
   * @throws CheckpointFormatException when the file is truncated, corrupt, of an unsupported kind, or names a
   *     global outside the allowlist (the message names the file and the offset / record)
   * @throws IOException when the file cannot be read at all
   */
  public static StateDict read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "not a regular file");
    }
    long size = Files.size(file);
    byte[] head = new byte[512];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    }
    try {
      if (n >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5) && (head[3] == 4 || head[3] == 6)) {
        return ZipFormat.read(file, size);
      }
      if (n >= 2 && (head[0] & 0xff) == 0x80) {
        return LegacyFormat.read(file);
      }
      if (n >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
        throw new CheckpointFormatException(file + ": tar-format checkpoint (PyTorch < 0.1.10) is not supported");
      }
      StringBuilder hex = new StringBuilder();
      for (int i = 0; i < Math.min(n, 8); i++) {
        hex.append(String.format("%02x ", head[i] & 0xff));
      }
      throw new CheckpointFormatException(file + ": not a PyTorch checkpoint (" + size + " bytes, starts with "
          + hex.toString().trim() + "; expected 'PK' for zip or 0x80 for a legacy pickle)");
    } catch (RuntimeException | StackOverflowError e) {
      // Defensive: malformed input must surface as a format error, never as a crash.
      throw new CheckpointFormatException(file + ": corrupt checkpoint (" + e + ")", e);
    }
  }
}
