/* Geometric Parameterization kernels (GMP_SPEC.md §2–§4).
 *
 * Dense layer:  Z = X·Uᵀ + λ,  Y = r ⊙ act(Z)       X [B, n], U [m, n], Z, Y [B, m]
 * Conv layers use the same epilogues on their NHWC output viewed as [N·H·W, C_out].
 * Write rule: every output here is written (=), parameter gradients included; the autograd
 * engine accumulates across uses. */
#ifndef GMPNN_GMP_H
#define GMPNN_GMP_H
#include "gmpnn/common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { GMPNN_ACT_IDENTITY = 0, GMPNN_ACT_RELU = 1 } gmpnn_activation;

/* U [m, n] = u(θ) per unit from theta [m, n-1], n >= 2 (§2): u_k = P_{k-1}·cos θ_k, u_n = P_{n-1}.
 * Prefix products accumulate in double for float32. */
gmpnn_status gmpnn_cpu_gmp_direction_forward(gmpnn_dtype dt, void* U, const void* theta, int64_t m,
                                             int64_t n);
gmpnn_status gmpnn_cuda_gmp_direction_forward(gmpnn_dtype dt, void* U, const void* theta,
                                              int64_t m, int64_t n);

/* The same with a sin/cos cache for a later gmp_dense_backward of the same theta: cache holds
 * gmpnn_gmp_direction_cache_len(m, n) doubles, or is NULL. The cache is advisory: an
 * implementation may leave it unwritten (the CUDA one does) and then does not read it either;
 * the backward reuses the sin/cos instead of recomputing them (the larger part of its cost). */
static inline int64_t gmpnn_gmp_direction_cache_len(int64_t m, int64_t n) {
  return 8 * ((m + 3) / 4) * (n - 1);
}
gmpnn_status gmpnn_cpu_gmp_direction_forward_cached(gmpnn_dtype dt, void* U, double* cache,
                                                    const void* theta, int64_t m, int64_t n);
gmpnn_status gmpnn_cuda_gmp_direction_forward_cached(gmpnn_dtype dt, void* U, double* cache,
                                                     const void* theta, int64_t m, int64_t n);

/* dtheta [m, n-1] = ∂L/∂θ from dU [m, n] = ∂L/∂U by the division-free reverse recurrence (§4). */
gmpnn_status gmpnn_cpu_gmp_direction_backward(gmpnn_dtype dt, void* dtheta, const void* dU,
                                              const void* theta, int64_t m, int64_t n);
gmpnn_status gmpnn_cuda_gmp_direction_backward(gmpnn_dtype dt, void* dtheta, const void* dU,
                                               const void* theta, int64_t m, int64_t n);

/* Inverse map for initialization (§2): W [m, n] -> theta [m, n-1], r [m] with r = ‖w‖.
 * abs_last != 0 reproduces the official code's |x_n| in the last angle. */
gmpnn_status gmpnn_cpu_gmp_direction_inverse(gmpnn_dtype dt, void* theta, void* r, const void* W,
                                             int64_t m, int64_t n, int abs_last);
gmpnn_status gmpnn_cuda_gmp_direction_inverse(gmpnn_dtype dt, void* theta, void* r, const void* W,
                                              int64_t m, int64_t n, int abs_last);

/* Forward epilogue over Z [rows, cols] holding X·Uᵀ: Z += λ (in place, kept for the backward),
 * Y = r ⊙ act(Z). lambda, r are [cols]; r may be NULL for r = 1, which makes these the fused
 * bias + activation of SP and WN layers (λ = bias). */
gmpnn_status gmpnn_cpu_gmp_epilogue_forward(gmpnn_dtype dt, void* Y, void* Z, const void* lambda,
                                            const void* r, int64_t rows, int64_t cols, int act);
gmpnn_status gmpnn_cuda_gmp_epilogue_forward(gmpnn_dtype dt, void* Y, void* Z, const void* lambda,
                                             const void* r, int64_t rows, int64_t cols, int act);

/* Backward epilogue (§4): G_Z = dY ⊙ act'(Z) ⊙ r  [rows, cols];
 * dlambda[j] = Σ_rows G_Z;  dr[j] = Σ_rows dY ⊙ act(Z). dlambda or dr may be NULL (not wanted);
 * r may be NULL (r = 1).
 * act'(z) = 1[z > 0] for ReLU (0 at z = 0), 1 for identity. Column sums accumulate in double. */
gmpnn_status gmpnn_cpu_gmp_epilogue_backward(gmpnn_dtype dt, void* dZ, void* dlambda, void* dr,
                                             const void* dY, const void* Z, const void* r,
                                             int64_t rows, int64_t cols, int act);
gmpnn_status gmpnn_cuda_gmp_epilogue_backward(gmpnn_dtype dt, void* dZ, void* dlambda, void* dr,
                                              const void* dY, const void* Z, const void* r,
                                              int64_t rows, int64_t cols, int act);

/* The dense layer's forward in one call (§3): Z = X·Wᵀ + λ (kept for the backward) and
 * Y = r ⊙ act(Z); X [rows, n], W [cols, n] (GmP: W = U = u(θ)), lambda [cols], r [cols] or NULL
 * (r = 1: SP/WN with bias). The same values as gemm followed by gmp_epilogue_forward; on the CPU
 * the epilogue runs as the product's strips leave the registers when n <= 16 (the UCI layers),
 * and on each output tile of the blocked GEMM as it is finished for wider fan-ins, so Z is not
 * read back. Z is what gmp_dense_backward may need besides Y, and the CPU leaves it unwritten
 * where its backward takes all it needs from Y: r NULL (Y = act(Z)), act identity, or every r_j
 * positive and finite (the ReLU mask is Y's sign); not for shapes with at most four rows or
 * units and a fan-in above 16, which take the GEMM and a separate epilogue pass. */
gmpnn_status gmpnn_cpu_gmp_dense_forward(gmpnn_dtype dt, void* Y, void* Z, const void* X,
                                         const void* W, const void* lambda, const void* r,
                                         int64_t rows, int64_t n, int64_t cols, int act);
gmpnn_status gmpnn_cuda_gmp_dense_forward(gmpnn_dtype dt, void* Y, void* Z, const void* X,
                                          const void* W, const void* lambda, const void* r,
                                          int64_t rows, int64_t n, int64_t cols, int act);

/* The GmP dense layer's forward in one call: U [cols, n] = u(θ) from theta [cols, n-1] (n >= 2),
 * with the sin/cos cache as gmp_direction_forward_cached (cache may be NULL), then
 * gmp_dense_forward with W = U. U is an output (the backward's W), or NULL when no one needs it:
 * a backward without dX that computes dθ (or no dr) does not read W, and an inference forward
 * has no backward. The CPU then writes u(θ) only into the product's packed operand (fan-in ≤ 16)
 * or a scratch; CUDA into a scratch. One binding call per layer instead of two.
 * Z: where every r_j is positive and finite, the CPU folds r into the product for fan-ins ≤ 16
 * (r ⊙ act(x·u + λ) = act(x·(r ⊙ u) + r ⊙ λ)), so Y = act(r ⊙ (X·Uᵀ + λ)) with no multiply by r
 * per element, and leaves Z unwritten (as gmp_dense_forward: the backward reads the signs from
 * Y). Otherwise, and on CUDA, Z = X·Uᵀ + λ. */
gmpnn_status gmpnn_cpu_gmp_dense_forward_theta(gmpnn_dtype dt, void* Y, void* Z, void* U,
                                               double* cache, const void* X, const void* theta,
                                               const void* lambda, const void* r, int64_t rows,
                                               int64_t n, int64_t cols, int act);
gmpnn_status gmpnn_cuda_gmp_dense_forward_theta(gmpnn_dtype dt, void* Y, void* Z, void* U,
                                                double* cache, const void* X, const void* theta,
                                                const void* lambda, const void* r, int64_t rows,
                                                int64_t n, int64_t cols, int act);

/* The dense layer's backward in one call (§4), the reverse of gmp_dense_forward, whose Z
 * (= X·Wᵀ + λ), Y and lambda it takes. Of z it needs act'(z) and, for dr without r, act(z); the
 * CPU reads them from Y wherever Y determines them (r NULL: Y = act(Z); act identity: nothing is
 * read; every r_j positive and finite: the signs of Y = r ⊙ act(z)) and from Z otherwise (with r,
 * only Z's signs), matching what its forward leaves unwritten; CUDA reads Z. So Y and r must be
 * the forward's, unchanged (as theta must be for the cache):
 *   dlambda and dr as gmp_epilogue_backward (either may be NULL; dr needs lambda);
 *   dX [rows, n] = G_Z·W (NULL: not wanted); dW [cols, n] = G_Zᵀ·X (NULL: not wanted), with
 *   G_Z = dY ⊙ act'(Z) ⊙ r.
 * dZ [rows, cols] is the caller's scratch; its contents afterwards are unspecified. With r the
 * CPU keeps r out of the pass over the activations: G' = dY ⊙ act'(Z) and S = Σ_rows G' as for SP,
 * then dX = G'·(r ⊙ W), D = G'ᵀ·X, dW = r ⊙ D, dλ = r ⊙ S and dr = Σ_rows G' ⊙ Z =
 * Σ_k D_k·W_k + λ ⊙ S, all on [cols, n] operands (so dr holds only for the forward's Z); with
 * theta the reverse scan runs on D with r folded into its prefix products and D·u is its last R.
 * GmP (theta != NULL, W = u(θ), n >= 2): dW is the caller's scratch (∂L/∂U up to r, or left
 * unwritten) and dtheta [cols, n-1] receives the reverse scan of gmp_direction_backward;
 * dtheta = NULL skips both; cache is what gmp_direction_forward_cached wrote for this theta, or
 * NULL. W is read only for dX, and for dr when dθ is not computed (then dr = Σ_k D_k·W_k + λ·S);
 * otherwise it may be NULL (the forward_theta that left no U). theta = NULL (SP/WN): dW is the
 * weight gradient itself and dtheta, cache are ignored.
 * The same values as the separate calls up to the summation order of D = G'ᵀ·X: without dX and
 * with 2 <= n <= 16 (a first layer) the CPU forms G', S and D in one pass over dY and Z (dZ not
 * written; dlambda and S in the separate calls' order, bit for bit), and dθ and dr do not depend
 * on the cache. One call per layer keeps small MLP steps off the per-call overhead of the
 * binding. */
gmpnn_status gmpnn_cpu_gmp_dense_backward(gmpnn_dtype dt, void* dX, void* dW, void* dtheta,
                                          void* dlambda, void* dr, void* dZ, const void* dY,
                                          const void* Z, const void* Y, const void* X, const void* W,
                                          const void* theta, const double* cache,
                                          const void* lambda, const void* r, int64_t rows,
                                          int64_t n, int64_t cols, int act);
gmpnn_status gmpnn_cuda_gmp_dense_backward(gmpnn_dtype dt, void* dX, void* dW, void* dtheta,
                                           void* dlambda, void* dr, void* dZ, const void* dY,
                                           const void* Z, const void* Y, const void* X,
                                           const void* W,
                                           const void* theta, const double* cache,
                                           const void* lambda, const void* r, int64_t rows,
                                           int64_t n, int64_t cols, int act);

/* Weight normalization, the WN baseline's weight (Salimans & Kingma 2016; nn.Linear 'wn'):
 * W_j = (g_j / ‖v_j‖)·v_j for each row j of v [rows, n] (n >= 1), g [rows]. The row sums in
 * double; a zero row gives 0/0 (NaN), as the composed ops did. One call instead of the five ops
 * (and their backward rules) it stands for. */
gmpnn_status gmpnn_cpu_weight_norm_forward(gmpnn_dtype dt, void* W, const void* v, const void* g,
                                           int64_t rows, int64_t n);
gmpnn_status gmpnn_cuda_weight_norm_forward(gmpnn_dtype dt, void* W, const void* v, const void* g,
                                            int64_t rows, int64_t n);
/* Its backward from dW [rows, n]: t_j = dW_j·v_j, dg_j = t_j/‖v_j‖ and
 * dv_j = (g_j/‖v_j‖)·(dW_j − (t_j/‖v_j‖²)·v_j); dv or dg may be NULL (not wanted). */
gmpnn_status gmpnn_cpu_weight_norm_backward(gmpnn_dtype dt, void* dv, void* dg, const void* dW,
                                            const void* v, const void* g, int64_t rows,
                                            int64_t n);
gmpnn_status gmpnn_cuda_weight_norm_backward(gmpnn_dtype dt, void* dv, void* dg, const void* dW,
                                             const void* v, const void* g, int64_t rows,
                                             int64_t n);

#ifdef __cplusplus
}
#endif
#endif
