/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.bytedeco.pytorch.global.torch.from_blob;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.ops.Scopes;

/**
 * The bridge between images (planar float arrays on the Java heap) and tensors: the only place pixels cross between
 * host arrays and tensors, so that each crossing is visible and counted.
 *
 * <p>An <b>upload</b> ({@link #tensorOf(float[], Device, long...)}, {@link #toTensor(Image, Device)}) copies an array
 * straight into a tensor on the target device: one host→device copy on CUDA (no intermediate CPU tensor), one
 * memory copy on the CPU. A <b>download</b> ({@link #floatsOf}, {@link #fromTensor}) copies a tensor of any device
 * and dtype back into an array: one device→host copy. {@link #count()} counts both per thread, which is how the
 * tests pin the inference pipeline to one upload and one download per image (see {@code docs/inference.md}).
 *
 * <p>Results are attached to the caller's innermost {@link PointerScope} when one is open (else the caller closes
 * them). All methods are thread-safe.
 */
public final class ImageTensors {
  private static final ThreadLocal<Transfers> COUNTER = new ThreadLocal<>();

  private ImageTensors() {}

  /**
   * Copies an image into a new CPU float tensor.
   *
   * @param img the image (alpha is not included)
   * @return a new CPU float32 tensor {@code [1, 3, H, W]}
   */
  public static Tensor toTensor(Image img) {
    return toTensor(img, null);
  }

  /**
   * Copies an image into a new float tensor on {@code device} (one upload).
   *
   * @param img the image (alpha is not included)
   * @param device the target device, or null for the CPU
   * @return a new float32 tensor {@code [1, 3, H, W]} on {@code device}
   */
  public static Tensor toTensor(Image img, Device device) {
    return tensorOf(img.rgb(), device, 1, 3, img.height(), img.width());
  }

  /**
   * Copies a float array into a new CPU float32 tensor of the given shape.
   *
   * @param data values in row-major order; length must equal the product of {@code shape}
   * @param shape the tensor shape, e.g. {@code [B, 3, P, P]}
   * @return a new tensor that owns its memory
   */
  public static Tensor tensorOf(float[] data, long... shape) {
    return tensorOf(data, null, shape);
  }

  /**
   * Copies a float array into a new float32 tensor on {@code device}: one copy (from_blob over a native buffer, then
   * a clone on the CPU or one host→device copy on CUDA).
   *
   * @param data values in row-major order; length must equal the product of {@code shape}
   * @param device the target device, or null for the CPU
   * @param shape the tensor shape
   * @return a new tensor that owns its memory
   */
  public static Tensor tensorOf(float[] data, Device device, long... shape) {
    long numel = 1;
    for (long s : shape) {
      if (s < 0) throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
      numel *= s;
    }
    if (numel != data.length) {
      throw new IllegalArgumentException("data has " + data.length + " values but shape " + Arrays.toString(shape)
          + " needs " + numel);
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor blob = from_blob(new FloatPointer(data), shape, new TensorOptions(ScalarType.Float));
      // to() copies synchronously, so the native buffer may go when the scope closes.
      Tensor out = device == null || device.is_cpu() ? blob.clone() : blob.to(device, ScalarType.Float);
      for (Transfers c = COUNTER.get(); c != null; c = c.previous) c.uploads++;
      return Scopes.escape(out, outer);
    }
  }

  /**
   * Copies a tensor into a float array (converted to float32 and made contiguous on its device, then one copy to
   * the host; the tensor itself is not changed).
   *
   * @param t any tensor
   * @return its values in row-major order
   */
  public static float[] floatsOf(Tensor t) {
    long numel = t.numel();
    if (numel > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor too large for one array: " + numel);
    float[] out = new float[(int) numel];
    try (PointerScope scope = new PointerScope()) {
      Tensor c = t.detach().to(ScalarType.Float).contiguous().cpu();
      c.data_ptr_float().get(out);
    }
    for (Transfers c = COUNTER.get(); c != null; c = c.previous) c.downloads++;
    return out;
  }

  /**
   * Copies a tensor into an image with in-memory 8-bit RGB metadata.
   *
   * @param t {@code [1, 3, H, W]} or {@code [3, H, W]}, any dtype and device
   * @return the image (values are not clamped here; writers clamp to [0, 1])
   */
  public static Image fromTensor(Tensor t) {
    return fromTensor(t, null);
  }

  /**
   * Copies a tensor into an image and carries over the metadata of the image it was computed from: bit depth,
   * grey flag, format and colour note, and the alpha plane when the size is unchanged. Use this to write an
   * enhanced image back in the form of its input.
   *
   * @param t {@code [1, 3, H, W]} or {@code [3, H, W]}, any dtype and device
   * @param like the source image, or null for in-memory 8-bit RGB metadata
   * @return the image
   */
  public static Image fromTensor(Tensor t, Image like) {
    long dim = t.dim();
    if (!(dim == 4 && t.size(0) == 1 && t.size(1) == 3) && !(dim == 3 && t.size(0) == 3)) {
      throw new IllegalArgumentException("expected a tensor [1, 3, H, W] or [3, H, W], got " + shape(t));
    }
    int h = (int) t.size(dim - 2), w = (int) t.size(dim - 1);
    float[] data = floatsOf(t);
    if (like == null) return Image.of(w, h, data);
    float[] a = like.width() == w && like.height() == h ? like.alpha() : null;
    return new Image(w, h, data, a, like.metadata());
  }

  /**
   * @param t a tensor or null
   * @return its shape as {@code [d0, d1, ...]}, for error messages
   */
  public static String shape(Tensor t) {
    if (t == null) return "null";
    StringBuilder sb = new StringBuilder("[");
    for (long i = 0; i < t.dim(); i++) sb.append(i == 0 ? "" : ", ").append(t.size(i));
    return sb.append(']').toString();
  }

  /**
   * Starts counting the uploads and downloads of the calling thread (for tests and diagnostics); counters nest, and
   * every open one counts.
   *
   * @return the counter; close it to stop counting
   */
  public static Transfers count() {
    Transfers t = new Transfers(COUNTER.get());
    COUNTER.set(t);
    return t;
  }

  /** Uploads and downloads made on one thread since {@link #count()}. */
  public static final class Transfers implements AutoCloseable {
    private final Transfers previous;
    private long uploads;
    private long downloads;

    private Transfers(Transfers previous) {
      this.previous = previous;
    }

    /** @return arrays copied into tensors */
    public long uploads() {
      return uploads;
    }

    /** @return tensors copied into arrays */
    public long downloads() {
      return downloads;
    }

    /** Stops counting (restores the counter that was active before, if any). */
    @Override
    public void close() {
      if (COUNTER.get() == this) {
        if (previous == null) COUNTER.remove();
        else COUNTER.set(previous);
      }
    }
  }
}
