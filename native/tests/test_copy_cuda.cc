// CUDA parity tests for the strided copy (gmpnn/copy.h): transposes, permutes, broadcasts (stride
// 0), slices with offsets and negative strides, strided outputs with gaps, 0-d, against the CPU
// twin. Both output buffers start as the same NaN poison, so gaps must stay NaN on both and every
// element that should be written must be.
#include "gmpnn/copy.h"
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "gmpnn/device.h"
#include "harness.h"

#include "cuda_test_util.h"
#ifdef GMPNN_WITH_CUDA
namespace {

struct CopyCase {
  const char* name;
  int ndim;
  int64_t shape[4];
  int64_t out_offset;
  int64_t out_strides[4];
  int64_t in_offset;
  int64_t in_strides[4];
  int64_t out_size, in_size;
};

template <typename T>
void run_copy() {
  Rand rng(3 + sizeof(T));
  const CopyCase cases[] = {
      {"scalar", 0, {0}, 0, {0}, 0, {0}, 1, 1},
      {"contiguous", 1, {1031}, 0, {1}, 0, {1}, 1031, 1031},
      {"transpose", 2, {37, 53}, 0, {53, 1}, 0, {1, 37}, 37 * 53, 37 * 53},
      {"permute3", 3, {3, 4, 5}, 0, {20, 5, 1}, 0, {1, 3, 12}, 60, 60},
      {"broadcast", 3, {7, 1, 129}, 0, {129, 129, 1}, 0, {0, 0, 1}, 7 * 129, 129},
      {"slice+offset", 2, {5, 6}, 3, {6, 1}, 13, {11, 1}, 3 + 30, 13 + 4 * 11 + 6},
      {"reverse", 1, {257}, 0, {1}, 256, {-1}, 257, 257},
      {"gapped out", 2, {9, 10}, 1, {23, 2}, 0, {10, 1}, 1 + 8 * 23 + 19, 90},
      {"nchw->nhwc", 4, {2, 3, 5, 7}, 0, {105, 1, 21, 3}, 0, {105, 35, 7, 1}, 210, 210},
      {"unit axes", 4, {1, 17, 1, 3}, 0, {51, 3, 3, 1}, 0, {0, 1, 0, 17}, 51, 51},
  };
  for (const CopyCase& c : cases) {
    std::vector<T> in = rng.vec<T>((size_t)c.in_size, -10, 10);
    std::vector<T> want = nans<T>((size_t)c.out_size);
    CHECK_OK(gmpnn_cpu_copy_strided(dtype_of<T>(), want.data(), c.out_offset, c.out_strides,
                                    in.data(), c.in_offset, c.in_strides, c.ndim, c.shape));
    Dev<T> din(in), dout(nans<T>((size_t)c.out_size));
    CHECK_OK(gmpnn_cuda_copy_strided(dtype_of<T>(), dout.p, c.out_offset, c.out_strides, din.p,
                                     c.in_offset, c.in_strides, c.ndim, c.shape));
    CHECK_CLOSE(c.name, dout.down().data(), want.data(), (size_t)c.out_size, 0.0, 0.0);
  }
}

}  // namespace
#endif

GMPNN_TEST(copy_cuda_parity) { CUDA_TEST_BODY(run_copy<float>(); run_copy<double>()); }
