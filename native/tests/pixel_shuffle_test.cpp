// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Pixel shuffle by 2 against the index formula (PyTorch's pixel_shuffle(x, 2)), bit for bit: odd sizes, one row or
// column, batch 2; negative sizes refused.
#include <cstring>
#include <vector>

#include "test_common.h"

namespace {

void run_case(int64_t B, int64_t C, int64_t H, int64_t W, unsigned seed) {
  auto x = dt::randn<float>(B * 4 * C * H * W, seed);
  std::vector<float> want(x.size()), y(x.size(), -1.0f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t a = 0; a < 2; ++a)
          for (int64_t j = 0; j < W; ++j)
            for (int64_t e = 0; e < 2; ++e)
              want[((b * C + c) * 2 * H + 2 * i + a) * 2 * W + 2 * j + e] =
                  x[((b * 4 * C + 4 * c + 2 * a + e) * H + i) * W + j];
  char what[80];
  std::snprintf(what, sizeof what, "pixel shuffle B=%lld C=%lld H=%lld W=%lld", (long long)B, (long long)C,
                (long long)H, (long long)W);
  dt::expect_ok(deepspg_pixel_shuffle2_cpu_f32(x.data(), B, C, H, W, y.data()), what);
  dt::expect(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0, what);
}

}  // namespace

int main() {
  run_case(1, 1, 1, 1, 1);
  run_case(2, 3, 5, 7, 2);
  run_case(1, 20, 13, 37, 3);
  run_case(1, 2, 1, 33, 4);
  run_case(1, 40, 70, 96, 5);  // large enough for the parallel path
  std::vector<float> z(4);
  dt::expect(deepspg_pixel_shuffle2_cpu_f32(z.data(), 1, -1, 1, 1, z.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "negative size refused");
  dt::expect_ok(deepspg_pixel_shuffle2_cpu_f32(nullptr, 0, 4, 2, 2, nullptr), "empty batch");
  return dt::finish("pixel_shuffle_test");
}
