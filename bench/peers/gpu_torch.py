"""PyTorch/cuDNN peer for bench/native/cuda_bench.cc, run in the same GPU call by
scripts/gpu_check.sh: the same GEMM and VGG-6 convolution shapes (NHWC = channels_last, 3x3
'same', 32x32 inputs), in float32 without TF32 (the precision of our SIMT kernels) and with TF32.
Timed with CUDA events, median of 20 after warm-up, random inputs.

    python3 bench/peers/gpu_torch.py [--batch N]
"""
import sys

import torch

batch = int(sys.argv[sys.argv.index("--batch") + 1]) if "--batch" in sys.argv else 256
if not torch.cuda.is_available():
    print("gpu_torch: no CUDA device visible to PyTorch; nothing to time")
    sys.exit(0)
dev = torch.device("cuda")


def median_ms(fn, reps=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


print(f"# PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}, batch {batch}\n")
for tf32 in (False, True):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    mode = "TF32" if tf32 else "fp32 (no TF32)"
    print(f"| GEMM {mode} (M = N = K) | ms | TFLOP/s |\n|---|---:|---:|")
    for s in (1024, 2048, 4096):
        A = torch.randn(s, s, device=dev)
        B = torch.randn(s, s, device=dev)
        t = median_ms(lambda: A @ B)
        print(f"| {s} | {t:.3f} | {2 * s**3 / t / 1e9:.2f} |")
    print(f"\n| VGG-6 conv {mode} (C_in→C_out @ HW) | fwd ms | fwd TFLOP/s | dgrad TFLOP/s | wgrad TFLOP/s |\n|---|---:|---:|---:|---:|")
    total = 0.0
    for cin, cout, hw in ((3, 128, 32), (128, 128, 32), (128, 256, 16), (256, 256, 16), (256, 512, 8), (512, 512, 8)):
        x = torch.randn(batch, cin, hw, hw, device=dev).to(memory_format=torch.channels_last)
        w = torch.randn(cout, cin, 3, 3, device=dev).to(memory_format=torch.channels_last)
        gy = torch.randn(batch, cout, hw, hw, device=dev).to(memory_format=torch.channels_last)
        flop = 2.0 * batch * hw * hw * cout * 9 * cin
        tf = median_ms(lambda: torch.nn.functional.conv2d(x, w, padding=1))
        td = median_ms(lambda: torch.ops.aten.convolution_backward(gy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]))
        tw = median_ms(lambda: torch.ops.aten.convolution_backward(gy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]))
        total += tf + td + tw
        print(f"| {cin}→{cout} @ {hw} | {tf:.3f} | {flop / tf / 1e9:.2f} | {flop / td / 1e9:.2f} | {flop / tw / 1e9:.2f} |")
    print(f"| all six layers, fwd + dgrad + wgrad | {total:.2f} ms | | | |\n")
