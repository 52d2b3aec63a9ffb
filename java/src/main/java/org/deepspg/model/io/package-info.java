/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */

/**
 * PyTorch checkpoint readers in pure Java (no Python, no libtorch serialization): {@link
 * org.deepspg.model.io.Checkpoints#read} gives a {@link org.deepspg.model.io.StateDict} of {@link
 * org.deepspg.model.io.TensorData}, and {@link org.deepspg.model.io.ModuleLoader} copies it into a bytedeco
 * {@code Module}.
 *
 * <h2>Formats</h2>
 *
 * <ul>
 *   <li><b>Zip</b> (file starts with {@code PK}): {@code torch.save} of PyTorch &ge; 1.6 and {@code
 *       torch.jit.save} (TorchScript, e.g. OpenAI's CLIP {@code .pt}). Records live under one root folder, the
 *       stem of the file when it was saved (found by looking for {@code <root>/data.pkl}, never assumed):
 *       {@code data.pkl} is a pickle of the object whose tensors are {@code
 *       torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)} with storages as
 *       persistent ids {@code ('storage', torch.<T>Storage, key, location, numel)}; {@code data/<key>} holds
 *       the raw little-endian bytes (STORED or DEFLATED; the CRC-32 is verified). In a TorchScript archive
 *       {@code data.pkl} is the module tree: each module is a {@code __torch__.<path>.<Class>} object whose
 *       BUILD state is its attribute dict (parameters, buffers, submodules, flags). Only data.pkl is read;
 *       {@code constants.pkl} (traced constants) and {@code code/} are ignored.
 *   <li><b>Legacy</b> (file starts with pickle byte {@code 0x80}; PyTorch &lt; 1.6 or {@code
 *       _use_new_zipfile_serialization=False}, e.g. torch-0.4 HRNet checkpoints): five consecutive pickles
 *       (magic number {@code 0x1950a86a20f9469cfc6c}, protocol version 1001, sys_info, the object, the list of
 *       storage keys), then for each key in the list's order an int64 element count and the raw bytes.
 *       Persistent ids are {@code ('storage', type, root_key, location, numel, view_metadata)}; storage views
 *       ({@code (view_key, offset, size)}) are supported.
 * </ul>
 *
 * <p>Storage locations ({@code cuda:0}) and {@code torch.cuda.<T>Storage} classes are read as CPU data.
 * Supported dtypes: see {@link org.deepspg.model.io.DType}. Not supported (clear {@link
 * org.deepspg.model.io.CheckpointFormatException}): quantized, sparse, nested, meta and {@code
 * _rebuild_tensor_v3} tensors, big-endian files, the pre-0.1.10 tar format, TorchScript's pre-1.4 {@code
 * model.json} format, out-of-band pickle buffers, single storages or tensors over 2 GiB.
 *
 * <h2>Names</h2>
 *
 * Names are the paths to each tensor, joined with '.': dict keys (a saved {@code state_dict()} keeps its keys),
 * TorchScript attribute names ({@code visual.transformer.resblocks.0.attn.in_proj_weight}, i.e. what {@code
 * module.state_dict()} would give, plus any other tensor attributes such as CLIP's three int64 scalars), list
 * indices. A training checkpoint {@code {"epoch": 3, "state_dict": {...}}} yields {@code state_dict.<key>}: use
 * {@link org.deepspg.model.io.StateDict#stripPrefix}. Non-tensor values are skipped.
 *
 * <h2>Safety rule</h2>
 *
 * A checkpoint may not run code. The pickle VM ({@code Unpickler}) only builds Java data; every global a pickle
 * names is checked against an allowlist the moment GLOBAL / STACK_GLOBAL / INST reads it: {@code
 * collections.OrderedDict}, {@code torch._utils._rebuild_tensor[_v2]}, {@code _rebuild_parameter[_with_state]},
 * {@code torch._tensor._rebuild_from_type_v2} (with {@code torch.Tensor} / {@code
 * torch.nn.parameter.Parameter} as type), the {@code torch[.cuda].<T>Storage} classes, torch dtypes, {@code
 * torch.device}, {@code torch.Size}, {@code builtins.set/frozenset}, {@code _codecs.encode} (bytes at protocol 2),
 * the data-only list builders of {@code torch.jit._pickle}, and TorchScript {@code __torch__.*} classes (rebuilt
 * as plain attribute holders, never executed). Anything else ({@code os.system}, {@code builtins.eval}, {@code
 * subprocess.Popen}, {@code torch.storage._load_from_bytes}, numpy, model classes of a pickled {@code
 * nn.Module}, ...) fails with "refusing global X (a checkpoint may not run code)". Every length and count read
 * from a file is checked against the bytes that remain before anything is allocated, so a corrupt or hostile
 * file gives a {@link org.deepspg.model.io.CheckpointFormatException} naming the file and the offset or record,
 * never an out-of-memory error or a crash.
 */
package org.deepspg.model.io;
