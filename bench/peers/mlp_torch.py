"""PyTorch CPU eager peer for bench/mlp_bench.js: the same GmP / SP MLP training epochs.

GmP is written as a PyTorch user would: u(θ) from cumulative products of sines through autograd.
Prints one JSON line per configuration: {"name", "epochsPerSec"}.
"""
import json
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)


def direction(theta):
    # u_k = prod_{j<k} sin θ_j · cos θ_k ; u_n = prod sin
    s = torch.sin(theta)
    c = torch.cos(theta)
    ones = torch.ones(theta.shape[0], 1, dtype=theta.dtype)
    prefix = torch.cat([ones, torch.cumprod(s, dim=1)], dim=1)  # [m, n]
    return prefix * torch.cat([c, ones], dim=1)


class GmpLinear(torch.nn.Module):
    def __init__(self, n, m, dtype):
        super().__init__()
        t = (6.0 / (n + m)) ** 0.5
        w = torch.empty(m, n, dtype=dtype).uniform_(-t, t)
        r = w.norm(dim=1)
        # simple inverse map for the initial angles (benchmark only)
        theta = torch.empty(m, n - 1, dtype=dtype)
        for i in range(n - 1):
            tail = w[:, i + 1 :].norm(dim=1)
            theta[:, i] = torch.atan2(tail, w[:, i])
        self.theta = torch.nn.Parameter(theta)
        self.lam = torch.nn.Parameter(torch.zeros(m, dtype=dtype))
        self.r = torch.nn.Parameter(r)

    def forward(self, x):
        return self.r * torch.relu(x @ direction(self.theta).t() + self.lam)


def model(kind, n, hidden, dtype):
    if kind == "gmp":
        return torch.nn.Sequential(GmpLinear(n, hidden, dtype), torch.nn.Linear(hidden, 1, dtype=dtype))
    return torch.nn.Sequential(torch.nn.Linear(n, hidden, dtype=dtype), torch.nn.ReLU(), torch.nn.Linear(hidden, 1, dtype=dtype))


def main():
    configs = json.loads(sys.argv[1])
    for cfg in configs:
        dtype = torch.float64 if cfg["dtype"] == "float64" else torch.float32
        torch.manual_seed(0)
        x = torch.randn(cfg["rows"], cfg["features"], dtype=dtype)
        y = torch.randn(cfg["rows"], 1, dtype=dtype)
        net = model(cfg["kind"], cfg["features"], cfg["hidden"], dtype)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        bs = cfg["batch"]

        def epoch():
            for s in range(0, cfg["rows"], bs):
                opt.zero_grad()
                loss = (net(x[s : s + bs]) - y[s : s + bs]).abs().mean()
                loss.backward()
                opt.step()

        for _ in range(5):
            epoch()
        best = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            n = 0
            while time.perf_counter() - t0 < cfg["seconds"]:
                epoch()
                n += 1
            best = max(best, n / (time.perf_counter() - t0))
        print(json.dumps({"name": cfg["name"], "epochsPerSec": best}), flush=True)


if __name__ == "__main__":
    main()
