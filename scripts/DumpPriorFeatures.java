/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.data.ImageTensors;
import org.deepspg.data.Images;
import org.deepspg.infer.Padding;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.model.prior.ImagePriors;
import org.deepspg.ops.Backends;

/**
 * The image prior's feature maps that a model with SEMs and {@code sem.prior_input=retinex} feeds its SEMs, for each
 * sample: input to {@code scripts/make_user_path_golden.py --features}, which runs everything else (illumination
 * estimator, light-up, network, padding, crop, rounding) in the spec's PyTorch reference. The prior itself is pinned
 * to the upstream implementation by the ESPNetv2 parity tests; this only carries its maps across.
 *
 * <pre>
 * java -cp "java/target/classes:java/target/lib/*" scripts/DumpPriorFeatures.java MODEL PRIOR_WEIGHTS OUT IMAGE...
 * </pre>
 * writes {@code OUT/NAME.s0.f32}, {@code .s1.f32}, {@code .s2.f32} (raw little-endian float32, NCHW) and
 * {@code OUT/NAME.xr.f32} (the Java light-up X_r, for the reference to check its own against), with the shapes in
 * {@code OUT/NAME.json}.
 */
public final class DumpPriorFeatures {
  public static void main(String[] args) throws IOException {
    if (args.length < 4) {
      System.err.println("usage: DumpPriorFeatures MODEL PRIOR_WEIGHTS OUT IMAGE...");
      System.exit(2);
    }
    Backends.init();
    ModelFiles.Loaded ld = ModelFiles.load(args[0], null);
    DeepSPG net = ld.net();
    net.eval();
    Path out = Files.createDirectories(Path.of(args[2]));
    try (ImagePrior prior = ImagePriors.load(net.config().semPrior(), Path.of(args[1]), null, ld.hrnetInputNorm())) {
      net.config().requireSemPrior(prior.id(), prior.featureChannels());
      for (int i = 3; i < args.length; i++) {
        Path img = Path.of(args[i]);
        String name = img.getFileName().toString().replaceFirst("\\.[^.]+$", "");
        try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
          Tensor x = Padding.reflectPad(ImageTensors.toTensor(Images.read(img)), Padding.MULTIPLE).contiguous();
          List<String> shapes = new ArrayList<>();
          net.forward(x, litUp -> {
            Tensor[] f = prior.run(litUp).features();
            write(out.resolve(name + ".xr.f32"), litUp, shapes, "xr");
            for (int l = 0; l < 3; l++) write(out.resolve(name + ".s" + l + ".f32"), f[l], shapes, "s" + l);
            return f;
          });
          Files.writeString(out.resolve(name + ".json"), "{" + String.join(", ", shapes) + "}\n");
          System.out.println(name + ": " + String.join(", ", shapes));
        }
      }
    }
  }

  private static void write(Path file, Tensor t, List<String> shapes, String key) {
    float[] v = ImageTensors.floatsOf(t);
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    try {
      Files.write(file, b.array());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    shapes.add("\"" + key + "\": " + Arrays.toString(t.sizes().vec().get()));
  }
}
