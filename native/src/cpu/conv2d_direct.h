// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Internal: the direct convolution's micro-kernels (conv2d_direct.cpp), shared with the fused feed-forward block
// (ffn_fused.cpp), which runs its 1x1 projections on them with weights packed by deepspg_conv2d_pack_weight_f32.
#pragma once

#include <cstdint>

namespace deepspg::ops::direct {

/** Largest output-channel block (OB) of any ISA's micro-kernel. */
constexpr int kMaxOb = 6;
/** Output positions per work item, and the row stride of the micro-kernels' output buffer: a multiple of every ISA's
 * tile width (16 x 4 = 64, 8 x 3 = 24, 8). */
constexpr int64_t kChunk = 384;

/**
 * One ISA's micro-kernel: kernel(in, cstride, off, taps, channels, wp, buf) accumulates, for OB output channels o and
 * `tile` consecutive positions t, sum over channels c < `channels` and taps u < `taps` of wp[(c taps + u) OB + o] *
 * in[c cstride + off[u] + t], in a fixed order, and stores it to buf[o kChunk + t]. It reads `tile` floats from every
 * in + c cstride + off[u], whatever part of them the caller keeps.
 */
struct Isa {
  int32_t id;
  int ob, tile;  // output channels and grid positions per micro-kernel call
  void (*kernel)(const float* in, int64_t cstride, const int64_t* off, int taps, int64_t channels, const float* wp,
                 float* buf);
};

/** Sets *out to the ISA a caller names (DEEPSPG_CONV2D_ISA_AUTO: the current one); an error when unknown or not on
 * this CPU (the message names `fn`). */
int32_t resolve(const char* fn, int32_t id, const Isa** out);

}  // namespace deepspg::ops::direct
