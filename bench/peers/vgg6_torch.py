"""PyTorch CPU eager peer for bench/vgg6_bench.js: one VGG-6 training step (forward, backward,
SGD momentum) on 32×32 inputs, channels-last, for SP and GmP+IMN written from GMP_SPEC.md.
Prints one JSON line per configuration: {"name", "imagesPerSec"}."""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)


def direction(theta):
    s, c = torch.sin(theta), torch.cos(theta)
    ones = torch.ones(theta.shape[0], 1, dtype=theta.dtype)
    return torch.cat([ones, torch.cumprod(s, 1)], 1) * torch.cat([c, ones], 1)


class GmpConv(torch.nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        n = 9 * cin
        self.shape = (cout, cin, 3, 3)
        self.theta = torch.nn.Parameter(torch.rand(cout, n - 1) * 3.14)
        self.lam = torch.nn.Parameter(torch.zeros(cout))
        self.r = torch.nn.Parameter(torch.ones(cout))

    def forward(self, x):
        # fan-in order (kh, kw, in) as the spec: reshape then permute to PyTorch's (out, in, kh, kw)
        w = direction(self.theta).reshape(self.shape[0], 3, 3, self.shape[1]).permute(0, 3, 1, 2)
        z = F.conv2d(x, w.contiguous(memory_format=torch.channels_last), self.lam, padding=1)
        return self.r.view(1, -1, 1, 1) * torch.relu(z)


class Imn(torch.nn.Module):
    def forward(self, x):
        return (x - x.mean(dim=(0, 2, 3), keepdim=True)) / (1 + 1e-6) ** 0.5


def vgg6(kind, width, classes=10):
    ch = [max(1, round(c * width)) for c in (128, 128, 256, 256, 512, 512)]
    layers, cin = [], 3
    for i, c in enumerate(ch):
        if kind == "sp":
            layers += [torch.nn.Conv2d(cin, c, 3, padding=1), torch.nn.ReLU()]
        else:
            layers += [GmpConv(cin, c), Imn()]
        if i % 2 == 1:
            layers.append(torch.nn.MaxPool2d(2))
        cin = c
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(cin, classes)]
    return torch.nn.Sequential(*layers).to(memory_format=torch.channels_last)


def main():
    for cfg in json.loads(sys.argv[1]):
        torch.manual_seed(0)
        net = vgg6(cfg["kind"], cfg["width"])
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(cfg["batch"], 3, 32, 32).to(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (cfg["batch"],))

        def step():
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()

        step()
        best = 0.0
        for _ in range(cfg["reps"]):
            t0 = time.perf_counter()
            step()
            best = max(best, cfg["batch"] / (time.perf_counter() - t0))
        print(json.dumps({"name": cfg["name"], "imagesPerSec": best}), flush=True)


if __name__ == "__main__":
    main()
