/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.DoubleArrayRef;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.nccl.ProcessGroupNCCL;
import org.deepspg.ops.Backends;
import org.deepspg.ops.NativeLibrary;

/**
 * Data-parallel training over libtorch's c10d: one process per worker, a {@link TCPStore} for the rendezvous and a
 * process group (Gloo on CPU, NCCL on CUDA) for the collectives, as PyTorch's DistributedDataParallel does.
 *
 * <p><b>What the trainer does with it.</b> Every worker builds the same network from the same seed (and
 * {@link #broadcast} makes rank 0's weights everyone's, which matters after a resume from a file that only rank 0
 * wrote). Each step, worker {@code r} of {@code W} takes its {@code B/W} slice of the global batch of {@code B} pairs,
 * runs forward and backward, and {@link #averageGradients} sums the gradients of all workers in buckets of
 * {@value #BUCKET_BYTES} bytes (one all-reduce per bucket, all buckets in flight at once) and divides by {@code W}.
 * The losses are means over each worker's slice, so the averaged gradient is the gradient of the mean over the global
 * batch: W workers with slices of {@code B/W} follow the same trajectory as one worker with batch {@code B}, up to
 * float32 summation order. Clipping and the Adam step then run on identical gradients on every worker, so the
 * weights stay identical without further synchronisation.
 *
 * <p><b>Failure.</b> A worker that dies closes its TCP connections; the others' next collective fails at once
 * ("Connection closed by peer") and {@link DistributedException} names the cause. A worker that hangs is detected
 * after the group's timeout. The launcher ({@code deepspg train --nproc N}) also stops the remaining workers when one
 * exits with an error.
 *
 * <p>A single-process instance ({@link #single()}) makes every call a no-op. Create and use on one thread, outside
 * any {@link org.bytedeco.javacpp.PointerScope} (the collectives themselves may run inside one).
 */
public final class DataParallel implements AutoCloseable {
  /** Gradient bucket size in bytes (PyTorch DDP's default, 25 MiB). */
  public static final long BUCKET_BYTES = 25L << 20;

  /** A collective failed: a peer died, hung past the timeout, or the network broke. */
  public static final class DistributedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    DistributedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Where rank 0's TCPStore listens.
   *
   * @param host host name or address
   * @param port TCP port (1..65535)
   */
  public record Endpoint(String host, int port) {
    /** Validates. */
    public Endpoint {
      if (host == null || host.isBlank()) throw new IllegalArgumentException("master host is empty");
      if (port < 1 || port > 65535) throw new IllegalArgumentException("master port must be 1..65535, got " + port);
    }

    /**
     * @param hostPort {@code HOST:PORT}
     * @return the endpoint
     * @throws IllegalArgumentException when it is not {@code HOST:PORT}
     */
    public static Endpoint parse(String hostPort) {
      int i = hostPort == null ? -1 : hostPort.lastIndexOf(':');
      if (i <= 0 || i == hostPort.length() - 1) {
        throw new IllegalArgumentException("--master must be HOST:PORT, got '" + hostPort + "'");
      }
      try {
        return new Endpoint(hostPort.substring(0, i), Integer.parseInt(hostPort.substring(i + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--master must be HOST:PORT, got '" + hostPort + "'");
      }
    }

    boolean loopback() {
      try {
        return InetAddress.getByName(host).isLoopbackAddress();
      } catch (UnknownHostException e) {
        return false;
      }
    }

    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  private final int rank;
  private final int world;
  private final TCPStore store; // held: the group uses it for its whole life
  private final Backend group;
  private final String backendName;
  private long commNanos;
  private long collectives;

  private DataParallel(int rank, int world, TCPStore store, Backend group, String backendName) {
    this.rank = rank;
    this.world = world;
    this.store = store;
    this.group = group;
    this.backendName = backendName;
  }

  /** @return the one-process instance: rank 0 of 1, every collective a no-op */
  public static DataParallel single() {
    return new DataParallel(0, 1, null, null, "none");
  }

  /**
   * Joins a process group: rank 0 starts the TCPStore at {@code master}, the others connect to it; returns when all
   * {@code world} workers are there (or throws after {@code timeout}).
   *
   * @param master where rank 0's store listens (rank 0 binds this port on its host)
   * @param rank this worker's rank, 0 .. world-1
   * @param world number of workers (≥ 1)
   * @param timeout rendezvous and per-collective timeout
   * @param cuda use NCCL (tensors on CUDA) instead of Gloo
   * @return the connected instance
   * @throws DistributedException when the rendezvous fails or times out
   */
  public static DataParallel connect(Endpoint master, int rank, int world, Duration timeout, boolean cuda) {
    if (world < 1) throw new IllegalArgumentException("world size must be >= 1, got " + world);
    if (rank < 0 || rank >= world) {
      throw new IllegalArgumentException("rank must be 0.." + (world - 1) + " for world size " + world + ", got "
          + rank);
    }
    if (world == 1) return single();
    Backends.init();
    Milliseconds ms = new Milliseconds(Math.max(1, timeout.toMillis()));
    try {
      TCPStoreOptions o = new TCPStoreOptions();
      o.port((short) master.port()); // c10d's uint16 port: 65535 wraps to a negative short and back
      o.isServer(rank == 0);
      o.numWorkers(new SizeTPointer(1).put(world));
      o.waitWorkers(true);
      o.timeout(ms);
      TCPStore store = storeWithin(master, o, timeout);
      Backend group;
      String name;
      if (cuda) {
        ProcessGroupNCCL.Options no = ProcessGroupNCCL.Options.create();
        group = new ProcessGroupNCCL(store, rank, world, no);
        name = "nccl";
      } else {
        ProcessGroupGloo.Options go = ProcessGroupGloo.Options.create(ms);
        go.devices(new GlooDeviceVector(glooDevice(master)));
        go.threads(2);
        group = new ProcessGroupGloo(store, rank, world, go);
        name = "gloo";
      }
      return new DataParallel(rank, world, store, group, name);
    } catch (RuntimeException e) {
      throw new DistributedException(String.format(Locale.ROOT,
          "rank %d of %d could not join the process group at %s within %d s: %s", rank, world, master,
          timeout.toSeconds(), NativeLibrary.withoutCppTrace(e.getMessage())), e);
    }
  }

  /**
   * Creates the TCPStore on a watchdog thread: a client whose master address is another service (an HTTP server that
   * accepts the connection and waits) blocked in c10d's handshake without its timeout, forever (the scale-out audit,
   * session 35). Past the timeout plus a margin the caller gets a {@link DistributedException}; the stuck native call
   * stays on its daemon thread until the process exits, which it then does.
   */
  private static TCPStore storeWithin(Endpoint master, TCPStoreOptions o, Duration timeout) {
    java.util.concurrent.FutureTask<TCPStore> f = new java.util.concurrent.FutureTask<>(
        () -> new TCPStore(master.host(), o));
    Thread t = new Thread(f, "deepspg-rendezvous");
    t.setDaemon(true);
    t.start();
    try {
      return f.get(timeout.toMillis() + STORE_MARGIN_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("no c10d TCPStore answered at " + master + " (is another service listening on "
          + "that port?)", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while joining the process group at " + master, e);
    }
  }

  /** Time the TCPStore may take beyond the rendezvous timeout (c10d's own timeout fires first when it works). */
  private static final long STORE_MARGIN_MS = 10_000;

  private static org.bytedeco.pytorch.gloo.Device glooDevice(Endpoint master) {
    String ifname = System.getenv("GLOO_SOCKET_IFNAME");
    if (ifname != null && !ifname.isBlank()) return ProcessGroupGloo.createDeviceForInterface(ifname);
    if (master.loopback()) return ProcessGroupGloo.createDeviceForHostname("127.0.0.1");
    return ProcessGroupGloo.createDefaultDevice();
  }

  /** @return this worker's rank */
  public int rank() {
    return rank;
  }

  /** @return the number of workers */
  public int world() {
    return world;
  }

  /** @return true on rank 0, the worker that writes checkpoints, logs and plots */
  public boolean isLeader() {
    return rank == 0;
  }

  /** @return true when there is more than one worker */
  public boolean distributed() {
    return world > 1;
  }

  /** @return "gloo", "nccl" or "none" */
  public String backend() {
    return backendName;
  }

  /** @return wall time spent in collectives so far, in seconds */
  public double commSeconds() {
    return commNanos / 1e9;
  }

  /** @return collectives run so far */
  public long collectives() {
    return collectives;
  }

  /**
   * Replaces every worker's gradients by their mean over the workers (bucketed all-reduce, sum then divide by W).
   * Parameters without a gradient are skipped (the same on every worker: same network, same configuration).
   *
   * @param params the trained parameters, in the same order on every worker
   * @throws DistributedException when a collective fails
   */
  public void averageGradients(TensorVector params) {
    if (!distributed()) return;
    long t0 = System.nanoTime();
    List<List<Tensor>> buckets = new ArrayList<>();
    List<Tensor> cur = new ArrayList<>();
    long bytes = 0;
    for (long i = 0; i < params.size(); i++) {
      Tensor g = params.get(i).grad();
      if (g == null || !g.defined()) continue;
      long b = g.numel() * g.element_size();
      if (!cur.isEmpty() && bytes + b > BUCKET_BYTES) {
        buckets.add(cur);
        cur = new ArrayList<>();
        bytes = 0;
      }
      cur.add(g);
      bytes += b;
    }
    if (!cur.isEmpty()) buckets.add(cur);
    Tensor[] flats = new Tensor[buckets.size()];
    Work[] works = new Work[buckets.size()];
    for (int k = 0; k < flats.length; k++) {
      List<Tensor> bk = buckets.get(k);
      Tensor[] views = new Tensor[bk.size()];
      for (int j = 0; j < views.length; j++) views[j] = bk.get(j).reshape(-1);
      flats[k] = torch.cat(new TensorVector(views));
      works[k] = start(flats[k]);
    }
    Scalar w = new Scalar((double) world);
    for (int k = 0; k < flats.length; k++) {
      finish(works[k], "gradient all-reduce");
      flats[k].div_(w);
      long off = 0;
      for (Tensor g : buckets.get(k)) {
        long n = g.numel();
        g.copy_(flats[k].narrow(0, off, n).view(g.sizes()));
        off += n;
      }
    }
    commNanos += System.nanoTime() - t0;
  }

  /**
   * Sums a few numbers over the workers (losses for logging, agreement checks).
   *
   * @param values this worker's values
   * @return the sums over all workers (a copy; {@code values} itself when not distributed)
   * @throws DistributedException when the collective fails
   */
  public double[] sum(double[] values) {
    if (!distributed()) return values;
    long t0 = System.nanoTime();
    Tensor t = torch.tensor(new DoubleArrayRef(new DoublePointer(values), values.length)); // float64: exact sums
    finish(start(t), "all-reduce of " + values.length + " values");
    double[] out = new double[values.length];
    for (int i = 0; i < out.length; i++) out[i] = t.get(i).item_double();
    commNanos += System.nanoTime() - t0;
    return out;
  }

  /**
   * Copies rank 0's tensors into every worker's (in place).
   *
   * @param tensors the same list on every worker
   * @throws DistributedException when the collective fails
   */
  public void broadcast(TensorVector tensors) {
    if (!distributed()) return;
    long t0 = System.nanoTime();
    for (long i = 0; i < tensors.size(); i++) {
      Tensor t = tensors.get(i);
      // detach() shares t's storage: a contiguous tensor is received in place; only a strided one needs a copy back
      boolean inPlace = t.is_contiguous();
      Tensor c = inPlace ? t.detach() : t.detach().contiguous();
      finish(run(() -> group.broadcast(new TensorVector(c))), "broadcast of the weights");
      if (!inPlace) t.detach().copy_(c);
    }
    commNanos += System.nanoTime() - t0;
  }

  /**
   * Waits until every worker got here.
   *
   * @throws DistributedException when a worker is gone
   */
  public void barrier() {
    if (!distributed()) return;
    finish(run(() -> group.barrier()), "barrier");
  }

  private Work start(Tensor t) {
    AllreduceOptions o = new AllreduceOptions();
    o.reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
    return run(() -> group.allreduce(new TensorVector(t), o));
  }

  private Work run(java.util.function.Supplier<Work> op) {
    try {
      collectives++;
      return op.get();
    } catch (RuntimeException e) {
      throw failure("collective", e);
    }
  }

  private void finish(Work w, String what) {
    try {
      w._wait();
    } catch (RuntimeException e) {
      throw failure(what, e);
    }
  }

  private DistributedException failure(String what, RuntimeException e) {
    return new DistributedException(String.format(Locale.ROOT,
        "rank %d of %d: %s failed, another worker has stopped or is unreachable (%s); the run stops here (continue "
            + "it with --resume once it has written a checkpoint, else start it again)", rank, world, what,
        NativeLibrary.withoutCppTrace(e.getMessage())), e);
  }

  /** Leaves the group (best effort). */
  @Override
  public void close() {
    if (group != null) {
      try {
        group.shutdown();
      } catch (RuntimeException ignored) {
        // a broken group cannot be shut down cleanly; the process exits anyway
      }
    }
  }
}
