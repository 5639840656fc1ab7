#!/usr/bin/env bash
# gpu_check.sh — the one prepared check for a bare GPU host (H100/H200, CUDA 13, CMake, ninja,
# Python + PyTorch, compute-sanitizer; no Node, no network).
#
#   bash scripts/gpu_check.sh            (or: npm run test:gpu)
#
# Steps, each under `timeout`, all within a global budget of 8 minutes:
#   1. card, driver, toolkit, date and git commit into the log
#   2. configure + build the kernel library and gmpnn_kernel_tests with plain CMake (no cmake-js:
#      CMakeLists.txt only builds the Node addon when CMAKE_JS_VERSION is set), sm_90 only
#   3. ctest: one entry per kernel family, CPU tests and CUDA parity tests together
#   4. any GPU benchmark executables present (build-gpu/*cuda*bench*, *gpu*bench*), then the
#      PyTorch/cuDNN peer on the same shapes (bench/peers/gpu_torch.py)
#   5. compute-sanitizer memcheck (and racecheck on the shared-memory kernels) on a short subset;
#      "unavailable" where the runtime (gVisor) refuses the sanitizer
#   6. where a Node binary is given (NODE=path or node on PATH) with build/Release and lib/:
#      scripts/gpu_node_check.js, the public API on cuda against cpu (else reported as skipped)
#   7. a summary table, printed last: family: pass / fail / skip, and the CUDA-skip count
# Everything goes to one log: $OUT/gpu_check.log, or ./gpu_check.log when OUT is unset.
# Exit status 0 when every step passed.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BUILD="$ROOT/build-gpu"
LOG_DIR="${OUT:-$ROOT}"
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/gpu_check.log"
: >"$LOG"
BUDGET_S=${GPU_CHECK_BUDGET_S:-480}
START=$(date +%s)
FAMILIES="common eltwise reduce copy gemm loss optim rng gmp conv norm pool"

log() { echo "$@" | tee -a "$LOG"; }
# Seconds left of the global budget, minus a reserve for the summary.
left() { echo $((BUDGET_S - ($(date +%s) - START) - 15)); }
# step_timeout WANTED: min(WANTED, time left); 0 when nothing is left.
step_timeout() {
  local l; l=$(left)
  if [ "$l" -le 5 ]; then echo 0; elif [ "$1" -lt "$l" ]; then echo "$1"; else echo "$l"; fi
}
# run NAME LIMIT CMD...: runs CMD with a timeout, output to the log; sets RC.
run() {
  local name=$1 limit=$2; shift 2
  local t; t=$(step_timeout "$limit")
  if [ "$t" -le 0 ]; then
    log "== $name: SKIPPED (time budget spent)"; RC=124; return
  fi
  log "== $name (timeout ${t}s): $*"
  local t0; t0=$(date +%s)
  timeout --kill-after=10 "$t" "$@" >>"$LOG" 2>&1
  RC=$?
  log "== $name: exit $RC after $(( $(date +%s) - t0 ))s"
}

declare -A STEP
STEP_ORDER=()
record() { STEP[$1]=$2; STEP_ORDER+=("$1"); }

# ------------------------------------------------------------------ 1. machine
log "# gmpnn GPU check"
log "date:    $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
COMMIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -c . || true)
log "commit:  $COMMIT (${DIRTY:-?} uncommitted paths)"
if command -v nvidia-smi >/dev/null 2>&1; then
  log "card:    $(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -4 | tr '\n' ';')"
  nvidia-smi >>"$LOG" 2>&1
else
  log "card:    nvidia-smi not found"
fi
log "nvcc:    $(nvcc --version 2>/dev/null | tail -1 || echo 'not on PATH')"
log "cmake:   $(cmake --version 2>/dev/null | head -1)"
log "host:    $(uname -sr), $(nproc) CPUs"

# ------------------------------------------------------------------ 2. build
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
if [ -z "$(command -v nvcc 2>/dev/null)" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
run configure 90 cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_BUILD_TYPE=Release
record configure $RC
if [ "${STEP[configure]}" -eq 0 ]; then
  if ! grep -q "CUDA kernels enabled" "$LOG"; then
    log "!! CMake did not enable CUDA: the CUDA tests would only skip"
  fi
  run build 300 cmake --build "$BUILD" -j "$(nproc)"
  record build $RC
else
  record build 1
fi
TESTS="$BUILD/gmpnn_kernel_tests"

# ------------------------------------------------------------------ 3. ctest
declare -A FAM
if [ "${STEP[build]}" -eq 0 ] && [ -x "$TESTS" ]; then
  CTEST_OUT="$LOG_DIR/gpu_check.ctest.tmp"
  t=$(step_timeout 180)
  log "== ctest (timeout ${t}s)"
  (cd "$BUILD" && timeout --kill-after=10 "$t" ctest -V --timeout 150) >"$CTEST_OUT" 2>&1
  RC=$?
  cat "$CTEST_OUT" >>"$LOG"
  log "== ctest: exit $RC"
  record ctest $RC
  # Result lines: " 3/12 Test  #3: reduce ......   Passed    0.21 sec" (or ***Failed, ***Skipped).
  while read -r name status; do
    FAM[$name]=$status
  done < <(awk '/Test +#[0-9]+: / {
      for (i = 1; i <= NF; ++i) if ($i ~ /^#[0-9]+:$/) { name = $(i + 1); break }
      st = "fail"; if ($0 ~ /Passed/) st = "pass"; else if ($0 ~ /Skipped/) st = "skip"
      print name, st }' "$CTEST_OUT")
  CUDA_SKIPS=$(grep -c '^[0-9: ]*SKIP [a-z]*_cuda' "$CTEST_OUT" || true)
  CUDA_OKS=$(grep -c '^[0-9: ]*ok   [a-z]*_cuda' "$CTEST_OUT" || true)
  CUDA_FAILS=$(grep -c '^[0-9: ]*FAIL [a-z]*_cuda' "$CTEST_OUT" || true)
  grep -E '^[0-9: ]*(SKIP|FAIL) ' "$CTEST_OUT" | head -20 | tee -a "$LOG" >/dev/null
  rm -f "$CTEST_OUT"
else
  record ctest 1
  CUDA_SKIPS=?; CUDA_OKS=?; CUDA_FAILS=?
fi

# ------------------------------------------------------------------ 4. GPU benchmarks (before the sanitizer, so a slow sanitizer cannot starve them)
shopt -s nullglob
BENCHES=("$BUILD"/*cuda*bench* "$BUILD"/*gpu*bench* "$BUILD"/*bench*cuda*)
shopt -u nullglob
NBENCH=0
SEEN=" "
for b in "${BENCHES[@]}"; do
  [ -x "$b" ] && [ -f "$b" ] || continue
  case "$SEEN" in *" $b "*) continue ;; esac
  SEEN="$SEEN$b "
  NBENCH=$((NBENCH + 1))
  run "bench $(basename "$b")" 120 "$b" --quick
  record "bench:$(basename "$b")" $RC
done
[ "$NBENCH" -eq 0 ] && log "== benchmarks: no GPU benchmark executables in $BUILD"
# The PyTorch/cuDNN peer on the same shapes (the GPU image's python3 holds PyTorch).
if python3 -c "import torch" >/dev/null 2>&1; then
  run "bench pytorch peer" 120 python3 "$ROOT/bench/peers/gpu_torch.py"
  record "bench:pytorch-peer" $RC
else
  log "== pytorch peer: python3 has no torch; skipped"
fi

# ------------------------------------------------------------------ 5. compute-sanitizer
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$TESTS" ] && [ -x "$SAN" ]; then
  # On a gVisor runtime compute-sanitizer refuses the device ("Device not supported"): that is
  # recorded as unavailable (code 200), not as a kernel failure, and the other subsets are skipped.
  san_run() {
    local name=$1; shift
    local before; before=$(wc -c <"$LOG")
    run "$name" 60 "$@"
    if [ "$RC" -ne 0 ] && tail -c +"$((before + 1))" "$LOG" | grep -q "Device not supported"; then
      RC=200
    fi
    record "$name" $RC
  }
  for subset in gemm_cuda gmp_cuda loss_cuda reduce_cuda conv_cuda pool_cuda norm_cuda; do
    san_run "memcheck:$subset" "$SAN" --tool memcheck --leak-check full --error-exitcode 3 \
      "$TESTS" "$subset"
    [ "$RC" -eq 200 ] && break
  done
  if [ "$RC" -ne 200 ]; then
    for subset in reduce_cuda gmp_cuda_parity_epilogues norm_cuda; do
      san_run "racecheck:$subset" "$SAN" --tool racecheck --error-exitcode 3 "$TESTS" "$subset"
    done
  fi
else
  log "== compute-sanitizer: not run (tests not built or sanitizer missing)"
  record sanitizer 1
fi

# ------------------------------------------------------------------ 6. the Node addon on the GPU
# The GPU hosts have no Node. Where one is given (NODE=path, or node on PATH) with a built addon
# (build/Release/gmpnn.node) and compiled TypeScript (lib/), scripts/gpu_node_check.js runs the
# public API on cuda against cpu (docs/GPU.md says how the device tool carries them). Otherwise the
# step is reported as skipped, not failed.
NODE_BIN=${NODE:-$(command -v node || true)}
if [ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] && [ -f "$ROOT/build/Release/gmpnn.node" ] && [ -f "$ROOT/lib/index.js" ]; then
  run "node addon on cuda" 180 "$NODE_BIN" "$ROOT/scripts/gpu_node_check.js"
  record "node-addon-cuda" $RC
else
  log "== node addon on cuda: skipped (no Node, build/Release/gmpnn.node or lib/ on this host)"
  STEP[node-addon-cuda]=201
  STEP_ORDER+=("node-addon-cuda")
fi

# ------------------------------------------------------------------ 7. summary (last)
ALL_OK=1
CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
SUMMARY="$LOG_DIR/gpu_check.summary.tmp"
{
  echo
  echo "## summary ($(( $(date +%s) - START ))s, commit ${COMMIT:0:12}, ${CARD:-no GPU})"
  printf '%-28s %s\n' "step / family" "result"
  for s in "${STEP_ORDER[@]}"; do
    r=${STEP[$s]}
    if [ "$r" -eq 0 ]; then v=pass; elif [ "$r" -eq 200 ]; then v="unavailable (sanitizer refused this runtime's device)"; elif [ "$r" -eq 201 ]; then v="skipped (no Node on this host)"; elif [ "$r" -eq 124 ] || [ "$r" -eq 137 ]; then v="fail (timeout)"; else v="fail (exit $r)"; fi
    printf '%-28s %s\n' "$s" "$v"
  done
  for f in $FAMILIES; do
    printf '%-28s %s\n' "family $f" "${FAM[$f]:-not run}"
  done
  printf '%-28s %s ok, %s failed, %s skipped\n' "CUDA parity tests" "$CUDA_OKS" "$CUDA_FAILS" "$CUDA_SKIPS"
} >"$SUMMARY"
for s in "${STEP_ORDER[@]}"; do [ "${STEP[$s]}" -ne 0 ] && [ "${STEP[$s]}" -ne 200 ] && [ "${STEP[$s]}" -ne 201 ] && ALL_OK=0; done
for f in $FAMILIES; do [ "${FAM[$f]:-}" = fail ] && ALL_OK=0; done
if [ "$CUDA_SKIPS" != "0" ]; then
  echo "!! CUDA parity tests skipped or not run on this host: see the SKIP lines above" >>"$SUMMARY"
  ALL_OK=0
fi
if [ "$ALL_OK" -eq 1 ]; then echo "RESULT: PASS" >>"$SUMMARY"; else echo "RESULT: FAIL" >>"$SUMMARY"; fi
echo "log: $LOG" >>"$SUMMARY"
tee -a "$LOG" <"$SUMMARY"
rm -f "$SUMMARY"
[ "$ALL_OK" -eq 1 ]
