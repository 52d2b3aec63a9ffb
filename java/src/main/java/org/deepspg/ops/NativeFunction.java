/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.from_blob;
import static org.bytedeco.pytorch.global.torch.get_current_graph_task_id;
import static org.bytedeco.pytorch.global.torch.get_current_graph_task_keep_graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.FunctionPostHook;
import org.bytedeco.pytorch.FunctionPreHook;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Node;
import org.bytedeco.pytorch.PointerConsumer;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;

/**
 * The one autograd mechanism of the project: makes a computation done outside libtorch's autograd (a native kernel
 * call) differentiable, with a gradient rule written in Java (usually: another native kernel call). bytedeco has no
 * {@code torch::autograd::Function}, so this class builds the equivalent out of autograd node hooks (STYLE §0).
 *
 * <h2>Use</h2>
 *
 * <pre>{@code
 * Tensor[] outs = NativeFunction.apply("my_op", new Tensor[] {x, w}, ctx -> {
 *   // runs under NoGradGuard: compute outputs (fresh tensors, never views of inputs)
 *   Tensor xs = ctx.save(x.contiguous());      // kept alive until the graph is gone or backward released it
 *   Tensor out = ...native forward...;
 *   ctx.setBackward((gradOutputs, needs) -> {  // runs inside autograd's backward, grad mode off
 *     Tensor dx = needs[0] ? ...native backward using xs and gradOutputs[0]... : null;
 *     return new Tensor[] {dx, null};          // one entry per input; null = no gradient
 *   });
 *   return new Tensor[] {out};
 * });
 * }</pre>
 *
 * <h2>Contract</h2>
 *
 * <ul>
 *   <li>{@code inputs} may contain {@code null} (an absent optional input) and tensors that do not require grad. All
 *       inputs that require grad must be on one device.
 *   <li>The forward runs under {@link NoGradGuard}. If grad mode is off or no input requires grad, the outputs are
 *       returned untouched (no {@code grad_fn}, no hooks, nothing saved: {@link Context#save} then returns its
 *       argument and the backward is dropped).
 *   <li>Otherwise every output gets a {@code grad_fn} ({@code CopySlices}) and {@code requires_grad() == true}; the
 *       Java output objects are the ones the forward returned. Outputs must be floating point, must not alias inputs
 *       or each other, and should not be modified in place afterwards.
 *   <li>The backward receives one gradient per output ({@code gradOutputs[j]}; zeros of the output's shape when the
 *       output did not take part in the loss) and {@code needsInputGrad[i]}, true exactly for the inputs whose
 *       gradient this backward pass asks for (it honours {@code autograd::grad} with a subset of inputs). It returns
 *       one tensor per input ({@code null} or undefined = no gradient); each returned gradient must have its input's
 *       shape, dtype and device (checked: {@link IllegalStateException} otherwise). It runs once per backward pass,
 *       on the thread the autograd engine chooses (the caller's thread on CPU), with grad mode off and inside a
 *       fresh {@link PointerScope}: temporaries it makes are freed when it returns.
 *   <li>Several backward passes may run through one retained graph at once (threads each calling
 *       {@code torch.grad(..., retain_graph=true)}): the gradients in flight are kept per pass (per graph task), so
 *       each pass gets its own, as with stock ops; one call's backward runs for one pass at a time.
 *   <li>Saved tensors are detached copies of the handles passed to {@link Context#save} (same storage). They are
 *       released after the first backward pass that does not retain the graph, or when the graph is freed,
 *       whichever comes first. A second backward through the graph without {@code retain_graph} fails with an
 *       exception whose message contains {@value #SECOND_BACKWARD}. A saved tensor modified in place between forward
 *       and backward makes the backward fail (version counter check, like PyTorch's).
 *   <li>Double backward ({@code create_graph = true}) is not supported and fails with a clear message.
 * </ul>
 *
 * <h2>How it works (STYLE §0)</h2>
 *
 * <p>Glue that moves zero elements is recorded in the graph: for each input needing grad a zero-element
 * {@code as_strided} view (its {@code AsStridedBackward0} node gets a post hook that <em>delivers</em> the input's
 * gradient); a zero-element sentinel leaf made by {@code from_blob} with a static deleter (its deletion means the graph
 * is gone); a {@code cat} of views and sentinel (its {@code CatBackward0} node gets a pre hook that <em>computes</em>
 * all input gradients with one call of the backward); for each output an in-place {@code add_} of the cat into a
 * zero-element view of the output (its {@code CopySlices} node gets a pre hook that <em>collects</em> the output's
 * gradient and blanks the engine's slot, so the glue nodes receive undefined gradients and do no work). Hooks and
 * saved state stay strongly reachable in a registry keyed by the sentinel until its deleter fires (JavaCPP keeps only
 * a weak reference to a hook once a node owns it). Fixed cost per call: a few zero-element tensors and three to six
 * hook objects, about 0.1–0.4 ms on CPU (measured with a toy op, forward + backward).
 */
public final class NativeFunction {
  /** Text contained in the message of the error a second backward without {@code retain_graph} raises. */
  public static final String SECOND_BACKWARD = "backward through the graph a second time";

  private static final AtomicLong NEXT_ID = new AtomicLong(1);
  private static final Map<Long, State> REGISTRY = new ConcurrentHashMap<>();
  private static final long[] EMPTY_SIZE = {0};
  private static final long[] UNIT_STRIDE = {1};

  /**
   * Fires when the sentinel's storage is freed, i.e. when no graph refers to it any more. Its native thunk must live
   * forever: the class may be initialised while a caller's PointerScope is open, and a scope-owned deleter would be
   * freed with that scope (seen: every later graph then leaked), hence the extra reference.
   */
  private static final PointerConsumer SENTINEL_DELETER = newDeleter();

  private static PointerConsumer newDeleter() {
    PointerConsumer d =
        new PointerConsumer() {
          @Override
          public void call(Pointer data) {
            State s = REGISTRY.remove(data.address());
            if (s != null) s.dispose();
          }
        };
    d.retainReference();
    return d;
  }

  private NativeFunction() {}

  /** The forward computation of an op: runs under {@link NoGradGuard} and returns the outputs. */
  @FunctionalInterface
  public interface Forward {
    /**
     * @param ctx where to save tensors for the backward and to register the backward
     * @return the outputs (at least one; fresh tensors)
     */
    Tensor[] forward(Context ctx);
  }

  /** The gradient rule of an op. */
  @FunctionalInterface
  public interface Backward {
    /**
     * @param gradOutputs one gradient per output, shaped like the output (zeros for unused outputs); may be
     *     non-contiguous
     * @param needsInputGrad per input, whether its gradient is wanted in this backward pass
     * @return one entry per input (null for no gradient)
     */
    Tensor[] backward(Tensor[] gradOutputs, boolean[] needsInputGrad);
  }

  /** Per-call context handed to {@link Forward#forward}. */
  public static final class Context {
    private final boolean recording;
    private final boolean[] needsInputGrad;
    private final List<Tensor> saved = new ArrayList<>();
    private Backward backward;

    private Context(boolean recording, boolean[] needsInputGrad) {
      this.recording = recording;
      this.needsInputGrad = needsInputGrad;
    }

    /** @return true when a graph will be recorded (grad mode on and some input requires grad) */
    public boolean isRecording() {
      return recording;
    }

    /**
     * @param i input index
     * @return whether input {@code i} requires grad (false for every input when not recording)
     */
    public boolean needsInputGrad(int i) {
      return needsInputGrad[i];
    }

    /**
     * Keeps a tensor for the backward. When recording, returns a detached handle on the same storage that stays
     * valid after the caller's {@link PointerScope}s close, until the backward released it or the graph is freed.
     * When not recording, returns {@code t} itself.
     *
     * @param t a tensor (not null)
     * @return the handle to use inside the backward
     */
    public Tensor save(Tensor t) {
      if (!recording) return t;
      Tensor kept = keep(t.detach());
      saved.add(kept);
      return kept;
    }

    /**
     * Registers the gradient rule. Must be called by a recording forward (ignored otherwise).
     *
     * @param backward the rule
     */
    public void setBackward(Backward backward) {
      this.backward = backward;
    }
  }

  /**
   * Runs {@code forward} and, when a graph is being recorded, makes its outputs differentiable with the rule it
   * registered through {@link Context#setBackward}.
   *
   * @param name op name used in error messages
   * @param inputs the op's tensor inputs (entries may be null)
   * @param forward the computation
   * @return the forward's outputs (the same Java objects)
   * @throws IllegalArgumentException when inputs requiring grad are on different devices
   * @throws IllegalStateException when a recording forward registered no backward
   */
  public static Tensor[] apply(String name, Tensor[] inputs, Forward forward) {
    boolean[] needs = new boolean[inputs.length];
    boolean any = false;
    if (GradMode.is_enabled()) {
      for (int i = 0; i < inputs.length; i++) {
        needs[i] = inputs[i] != null && inputs[i].defined() && inputs[i].requires_grad();
        any |= needs[i];
      }
    }
    Context ctx = new Context(any, needs);
    Tensor[] outputs;
    try (NoGradGuard guard = new NoGradGuard()) {
      outputs = forward.forward(ctx);
    } catch (RuntimeException | Error e) {
      releaseAll(ctx.saved);
      throw e;
    }
    if (!any) return outputs;
    if (ctx.backward == null) {
      releaseAll(ctx.saved);
      throw new IllegalStateException(name + ": the forward saved no backward (call ctx.setBackward)");
    }
    try {
      record(name, inputs, needs, outputs, ctx);
    } catch (RuntimeException | Error e) {
      // If the state was registered, the sentinel's deleter disposes it; otherwise release here.
      releaseAll(ctx.saved);
      throw e;
    }
    return outputs;
  }

  /** @return number of op calls whose graph is still alive (tests: must return to its old value). */
  public static int liveGraphs() {
    return REGISTRY.size();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private static void record(String name, Tensor[] inputs, boolean[] needs, Tensor[] outputs, Context ctx) {
    try (PointerScope scope = new PointerScope()) {
      Device device = null;
      Tensor first = null;
      for (int i = 0; i < inputs.length; i++) {
        if (!needs[i]) continue;
        if (first == null) {
          first = inputs[i];
          device = first.device();
        } else if (device.notEquals(inputs[i].device())) {
          throw new IllegalArgumentException(
              name + ": inputs that require grad must be on one device, got " + device.str().getString() + " and "
                  + inputs[i].device().str().getString());
        }
      }
      long id = NEXT_ID.getAndIncrement();
      State s = new State(id, name, inputs, needs, outputs, ctx);

      // Zero-element views of the inputs needing grad: their AsStridedBackward0 nodes deliver the gradients.
      TensorVector parts = new TensorVector();
      int k = 0;
      for (int i = 0; i < inputs.length; i++) {
        if (!needs[i]) continue;
        Tensor view = inputs[i].as_strided(EMPTY_SIZE, UNIT_STRIDE);
        Node node = view.grad_fn();
        if (node == null) throw new IllegalStateException(name + ": as_strided view has no grad_fn");
        s.deliverHooks[k] = new DeliverHook(s, i);
        node.add_post_hook(s.deliverHooks[k]);
        parts.push_back(view);
        k++;
      }

      // The sentinel: a zero-element leaf whose storage deleter tells when the graph is gone.
      REGISTRY.put(id, s);
      Tensor sentinel;
      try {
        Pointer key =
            new Pointer() {
              {
                address = id; // never dereferenced: zero elements; the deleter gets it back as the registry key
              }
            };
        sentinel =
            from_blob(key, EMPTY_SIZE, SENTINEL_DELETER,
                new TensorOptions().dtype(new ScalarTypeOptional(first.scalar_type())));
      } catch (RuntimeException | Error e) {
        REGISTRY.remove(id); // no sentinel, so no deleter will ever fire for this id
        throw e;
      }
      sentinel.requires_grad_(true);
      if (!device.is_cpu()) sentinel = sentinel.to(device, first.scalar_type());
      parts.push_back(sentinel);

      // The cat: its CatBackward0 node computes all input gradients with one backward call.
      Tensor joined = cat(parts);
      Node catNode = joined.grad_fn();
      // Non-owning view of the node: an owning reference held by the registry would keep the graph alive, and the
      // registry entry lives until the graph dies: a cycle.
      s.catNode = new RawNode(catNode.address());
      s.computeHook = new ComputeHook(s);
      catNode.add_pre_hook(s.computeHook);

      // Outputs: add_ the cat into a zero-element view; the CopySlices node collects dOut and blanks the slot.
      for (int j = 0; j < outputs.length; j++) {
        Tensor slot = outputs[j].as_strided(EMPTY_SIZE, UNIT_STRIDE);
        slot.add_(joined);
        Node copySlices = outputs[j].grad_fn();
        if (copySlices == null) throw new IllegalStateException(name + ": output " + j + " got no grad_fn");
        s.collectHooks[j] = new CollectHook(s, j);
        copySlices.add_pre_hook(s.collectHooks[j]);
      }
      s.snapshotVersions();
    }
  }

  /** A handle that survives the enclosing scopes until {@link #drop}. */
  static Tensor keep(Tensor t) {
    Tensor k = new Tensor(t);
    k.retainReference();
    return k;
  }

  /** @return the sizes of {@code t} as a Java array */
  static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) s[i] = t.size(i);
    return s;
  }

  static void drop(Tensor k) {
    if (k != null) k.releaseReference();
  }

  private static void releaseAll(List<Tensor> tensors) {
    for (Tensor t : tensors) drop(t);
    tensors.clear();
  }

  /** Everything one recorded call needs until its graph is freed. */
  private static final class State {
    final long id;
    final String name;
    final int numInputs;
    final int[] viewIndex; // input -> index among the cat's inputs, or -1
    final long[][] inputSizes;
    final int[] inputDtype;
    final String[] inputDevice;
    final Tensor[] outputTemplates; // zero-element tensors with each output's dtype/device
    final long[][] outputSizes;
    final List<Tensor> saved;
    final long[] savedVersions;
    Backward backward;
    boolean released;
    Node catNode;

    final DeliverHook[] deliverHooks;
    ComputeHook computeHook;
    final CollectHook[] collectHooks;

    /**
     * The gradients in flight of each backward pass running through this call, keyed by its graph task: passes of
     * several threads over one retained graph ({@code torch.grad} from a thread pool) run at the same time, and
     * slots shared between them mixed one pass's gradients into another's.
     */
    final Map<Integer, Pass> passes = new HashMap<>();

    State(long id, String name, Tensor[] inputs, boolean[] needs, Tensor[] outputs, Context ctx) {
      this.id = id;
      this.name = name;
      numInputs = inputs.length;
      viewIndex = new int[numInputs];
      inputSizes = new long[numInputs][];
      inputDtype = new int[numInputs];
      inputDevice = new String[numInputs];
      int k = 0;
      for (int i = 0; i < numInputs; i++) {
        viewIndex[i] = needs[i] ? k++ : -1;
        if (needs[i]) {
          inputSizes[i] = shape(inputs[i]);
          inputDtype[i] = inputs[i].scalar_type().value;
          inputDevice[i] = inputs[i].device().str().getString();
        }
      }
      deliverHooks = new DeliverHook[k];
      collectHooks = new CollectHook[outputs.length];
      outputTemplates = new Tensor[outputs.length];
      outputSizes = new long[outputs.length][];
      for (int j = 0; j < outputs.length; j++) {
        outputTemplates[j] = keep(outputs[j].new_empty(EMPTY_SIZE));
        outputSizes[j] = shape(outputs[j]);
      }
      saved = ctx.saved;
      savedVersions = new long[saved.size()];
      backward = ctx.backward;
    }

    /** @return the current backward pass's entry, made when absent */
    private Pass pass() {
      return passes.computeIfAbsent(get_current_graph_task_id(), t -> new Pass(outputTemplates.length, numInputs));
    }

    void snapshotVersions() {
      for (int i = 0; i < savedVersions.length; i++) savedVersions[i] = saved.get(i)._version();
    }

    private IllegalStateException secondBackward() {
      return new IllegalStateException(
          name + ": trying to " + SECOND_BACKWARD + " (its saved tensors were freed after the first backward). "
              + "Pass retain_graph=true to the first backward if you need to backward twice.");
    }

    /** CopySlices pre hook of output j: keep dOut, blank the slot. */
    synchronized void collect(int j, TensorVector grads) {
      if (released) throw secondBackward();
      Tensor g = grads.get(0);
      if (g.defined()) {
        Tensor[] gradOutputs = pass().gradOutputs;
        Tensor copy = keep(g);
        if (gradOutputs[j] != null) {
          Tensor sum = keep(gradOutputs[j].add(copy));
          drop(copy);
          copy = sum;
        }
        drop(gradOutputs[j]);
        gradOutputs[j] = copy;
      }
      grads.put(0, new Tensor());
    }

    /** CatBackward0 pre hook: one call of the backward for all inputs. */
    synchronized void compute() {
      if (GradMode.is_enabled()) {
        throw new UnsupportedOperationException(
            name + ": double backward (create_graph=true) is not supported by native ops");
      }
      if (released) throw secondBackward();
      for (int i = 0; i < savedVersions.length; i++) {
        long v = saved.get(i)._version();
        if (v != savedVersions[i]) {
          throw new IllegalStateException(
              name + ": saved tensor " + i + " was modified by an in-place operation (version " + v
                  + ", expected " + savedVersions[i] + ")");
        }
      }
      Pass pass = pass();
      Tensor[] gradOutputs = pass.gradOutputs;
      Tensor[] gradInputs = pass.gradInputs;
      Tensor[] dOut = new Tensor[gradOutputs.length];
      for (int j = 0; j < dOut.length; j++) {
        dOut[j] = gradOutputs[j] != null ? gradOutputs[j] : outputTemplates[j].new_zeros(outputSizes[j]);
      }
      boolean[] needs = new boolean[numInputs];
      for (int i = 0; i < numInputs; i++) {
        needs[i] = viewIndex[i] >= 0 && catNode.task_should_compute_output(viewIndex[i]);
      }
      // gradOutputs are dropped only after the returned gradients are kept: a backward may return one of its
      // gradOutputs as an input gradient (identity-like rules), and that handle must not be released under it.
      boolean computed = false;
      try {
        Tensor[] grads = backward.backward(dOut, needs);
        if (grads == null || grads.length != numInputs) {
          throw new IllegalStateException(
              name + ": backward returned " + (grads == null ? "null" : grads.length + " gradients") + " for "
                  + numInputs + " inputs");
        }
        for (int i = 0; i < numInputs; i++) {
          drop(gradInputs[i]);
          gradInputs[i] = null;
          Tensor g = grads[i];
          if (!needs[i] || g == null || !g.defined()) continue;
          long[] gs = shape(g);
          if (!Arrays.equals(gs, inputSizes[i])
              || g.scalar_type().value != inputDtype[i]
              || !g.device().str().getString().equals(inputDevice[i])) {
            throw new IllegalStateException(
                name + ": gradient of input " + i + " has shape " + Arrays.toString(gs) + ", dtype "
                    + OpSupport.dtypeName(g.scalar_type().value) + ", device " + g.device().str().getString()
                    + "; expected " + Arrays.toString(inputSizes[i]) + " on " + inputDevice[i]);
          }
          gradInputs[i] = keep(g);
          pass.pending++;
        }
        computed = true;
      } finally {
        for (int j = 0; j < gradOutputs.length; j++) {
          drop(gradOutputs[j]);
          gradOutputs[j] = null;
        }
        if (pass.pending == 0 || !computed) passes.remove(get_current_graph_task_id()).dispose();
      }
      if (!get_current_graph_task_keep_graph()) releaseSaved();
    }

    /** AsStridedBackward0 post hook of input i: replace the (undefined) output by the computed gradient. */
    synchronized void deliver(int i, TensorVector outputs) {
      int task = get_current_graph_task_id();
      Pass pass = passes.get(task);
      if (pass == null) return;
      Tensor g = pass.gradInputs[i];
      pass.gradInputs[i] = null;
      if (g != null) {
        outputs.put(0, g);
        drop(g);
        if (--pass.pending == 0) passes.remove(task);
      }
    }

    private void releaseSaved() {
      released = true;
      backward = null;
      releaseAll(saved);
    }

    /** The graph is gone: free everything (hooks become unreachable with this state). */
    synchronized void dispose() {
      releaseSaved();
      for (Pass pass : passes.values()) pass.dispose();
      passes.clear();
      for (int j = 0; j < outputTemplates.length; j++) {
        drop(outputTemplates[j]);
        outputTemplates[j] = null;
      }
    }
  }

  /**
   * One backward pass's gradients through one recorded call, from the output hooks that collect them to the input
   * hooks that deliver them (a pass that failed half-way leaves its entry until the graph is freed).
   */
  private static final class Pass {
    final Tensor[] gradOutputs;
    final Tensor[] gradInputs;
    int pending; // gradInputs computed and not delivered yet

    Pass(int numOutputs, int numInputs) {
      gradOutputs = new Tensor[numOutputs];
      gradInputs = new Tensor[numInputs];
    }

    void dispose() {
      for (int j = 0; j < gradOutputs.length; j++) {
        drop(gradOutputs[j]);
        gradOutputs[j] = null;
      }
      for (int i = 0; i < gradInputs.length; i++) {
        drop(gradInputs[i]);
        gradInputs[i] = null;
      }
    }
  }

  /** A Node pointer that owns nothing. */
  private static final class RawNode extends Node {
    RawNode(long address) {
      super((Pointer) null);
      this.address = address;
    }
  }

  private static final class CollectHook extends FunctionPreHook {
    private final State state;
    private final int output;

    CollectHook(State state, int output) {
      this.state = state;
      this.output = output;
    }

    @Override
    public TensorVector apply(TensorVector grads) {
      try (PointerScope scope = new PointerScope()) {
        state.collect(output, grads);
      }
      return grads;
    }
  }

  private static final class ComputeHook extends FunctionPreHook {
    private final State state;

    ComputeHook(State state) {
      this.state = state;
    }

    @Override
    public TensorVector apply(TensorVector grads) {
      try (PointerScope scope = new PointerScope()) {
        state.compute();
      }
      return grads;
    }
  }

  private static final class DeliverHook extends FunctionPostHook {
    private final State state;
    private final int input;

    DeliverHook(State state, int input) {
      this.state = state;
      this.input = input;
    }

    @Override
    public TensorVector apply(TensorVector outputs, TensorVector inputs) {
      try (PointerScope scope = new PointerScope()) {
        state.deliver(input, outputs);
      }
      return outputs;
    }
  }
}
