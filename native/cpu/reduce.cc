// Reduction CPU kernels (gmpnn/reduce.h) over the middle axis of an [outer, R, inner] view.
// float32 sums accumulate in double: the MLP experiments sum thousands of terms per column.
#include <cmath>
#include <vector>

#include "cpu_util.h"
#include "gmpnn/reduce.h"

namespace {

template <typename T>
gmpnn_status reduce_impl(T* out, const T* in, int op, int64_t outer, int64_t R, int64_t inner) {
  const bool par = outer * R * inner >= gmpnn_cpu::kParallelGrain;
  if (inner == 1) {
    // Each output reduces a contiguous row.
    gmpnn_cpu::parallel_region(par && outer > 1, [&] {
#pragma omp for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = in + o * R;
      if (op == GMPNN_REDUCE_SUM) {
        out[o] = (T)gmpnn_cpu::sum_in_double(0, R, [&](int64_t r) { return (double)row[r]; });
      } else {
        T best = row[0];
        int64_t arg = 0;
        for (int64_t r = 1; r < R; ++r) {
          T v = row[r];
          bool better = op == GMPNN_REDUCE_MIN ? v < best : v > best;
          if (better || (std::isnan(v) && !std::isnan(best))) best = v, arg = r;
        }
        out[o] = op == GMPNN_REDUCE_ARGMAX ? (T)arg : best;
      }
    }
    });
    return GMPNN_OK;
  }
  // Reduce across rows of an [R, inner] slab: stream rows, accumulate a row-vector.
  gmpnn_cpu::parallel_region(par, [&] {
    std::vector<double> acc;
    std::vector<int64_t> arg;
#pragma omp for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      const T* slab = in + o * R * inner;
      T* dst = out + o * inner;
      if (op == GMPNN_REDUCE_SUM) {
        acc.assign(inner, 0.0);
        for (int64_t r = 0; r < R; ++r) {
          const T* row = slab + r * inner;
#pragma omp simd
          for (int64_t i = 0; i < inner; ++i) acc[i] += (double)row[i];
        }
        for (int64_t i = 0; i < inner; ++i) dst[i] = (T)acc[i];
      } else {
        acc.resize(inner);
        arg.assign(inner, 0);
        for (int64_t i = 0; i < inner; ++i) acc[i] = slab[i];
        for (int64_t r = 1; r < R; ++r) {
          const T* row = slab + r * inner;
          for (int64_t i = 0; i < inner; ++i) {
            double v = row[i];
            bool better = op == GMPNN_REDUCE_MIN ? v < acc[i] : v > acc[i];
            if (better || (std::isnan(v) && !std::isnan(acc[i]))) acc[i] = v, arg[i] = r;
          }
        }
        for (int64_t i = 0; i < inner; ++i)
          dst[i] = op == GMPNN_REDUCE_ARGMAX ? (T)arg[i] : (T)acc[i];
      }
    }
  });
  return GMPNN_OK;
}

}  // namespace

extern "C" gmpnn_status gmpnn_cpu_reduce(gmpnn_dtype dt, void* out, const void* in, int op,
                                         int64_t outer, int64_t R, int64_t inner) {
  if (op < 0 || op >= GMPNN_REDUCE_COUNT)
    return gmpnn_set_error(GMPNN_E_ARG, "reduce: bad op %d", op);
  if (outer < 0 || inner < 0 || R < 1)
    return gmpnn_set_error(GMPNN_E_SHAPE, "reduce: bad view [%lld, %lld, %lld]",
                           (long long)outer, (long long)R, (long long)inner);
  if (outer == 0 || inner == 0) return GMPNN_OK;
  GMPNN_DISPATCH_FLOAT(dt, "reduce",
                       return reduce_impl<T>((T*)out, (const T*)in, op, outer, R, inner));
}
