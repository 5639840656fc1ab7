/* Philox4x32-10 (Salmon et al., SC'11): the one counter-based generator of gmpnn. Host and
 * device share this code, so CPU and CUDA draw the same numbers for the same (seed, offset).
 *
 * Element e of a draw with (seed, offset) uses counter block (offset + e) / 4 and lane
 * (offset + e) % 4 for uniforms; normals use the pair p = (offset + e) / 2 (block p / 2,
 * lanes 2·(p % 2) and 2·(p % 2) + 1) through Box–Muller, even e taking the cosine branch.
 * Arithmetic after the integer stage is in double on both devices. */
#ifndef GMPNN_PHILOX_H
#define GMPNN_PHILOX_H
#include <stdint.h>

#if defined(__CUDACC__)
#define GMPNN_HD __host__ __device__ __forceinline__
#else
#define GMPNN_HD static inline
#endif

typedef struct { uint32_t v[4]; } gmpnn_philox_out;

GMPNN_HD uint32_t gmpnn_mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

GMPNN_HD gmpnn_philox_out gmpnn_philox4x32_10(uint64_t counter, uint64_t seed) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = gmpnn_mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = gmpnn_mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  gmpnn_philox_out out;
  out.v[0] = c0; out.v[1] = c1; out.v[2] = c2; out.v[3] = c3;
  return out;
}

/* Uniform in the open interval (0, 1), from 32 bits. */
GMPNN_HD double gmpnn_u32_to_unit(uint32_t x) { return ((double)x + 0.5) * 2.3283064365386963e-10; }

GMPNN_HD double gmpnn_philox_uniform(uint64_t seed, uint64_t index) {
  gmpnn_philox_out r = gmpnn_philox4x32_10(index >> 2, seed);
  return gmpnn_u32_to_unit(r.v[index & 3]);
}

GMPNN_HD double gmpnn_philox_normal(uint64_t seed, uint64_t index) {
  uint64_t pair = index >> 1;
  gmpnn_philox_out r = gmpnn_philox4x32_10(pair >> 1, seed);
  int lane = (int)(pair & 1) * 2;
  double u1 = gmpnn_u32_to_unit(r.v[lane]), u2 = gmpnn_u32_to_unit(r.v[lane + 1]);
  double radius = sqrt(-2.0 * log(u1));
  double angle = 6.283185307179586 * u2;
  return (index & 1) ? radius * sin(angle) : radius * cos(angle);
}

#endif
