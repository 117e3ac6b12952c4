#!/usr/bin/python3
"""PyTorch side of `npm run bench` (bench/cpu.ts).

Usage: /usr/bin/python3 bench/torch_hessian.py JOB.json

JOB.json (written by bench/cpu.ts) names a model, the files holding theta and the data
(raw little-endian float64, row-major, exactly the arrays given to the generated module),
where to write PyTorch's Hessian, and how many calls to time. Each model below is written
by hand to match its .hess file in bench/models/, with theta unpacked in the same layout:
every `param` in declaration order, flattened row-major.

If the job asks for `check_rows`, those rows of the Hessian are first computed by double
backward (quick even where the full Hessian is not) and written to `rows_out`.

The Hessian is torch.autograd.functional.hessian in float64 with one thread, timed with
vectorize=False and vectorize=True (cpu.ts keeps the better), on the clock the job names
("cpu": the process's CPU time; "wall"). Results go to stdout as one
JSON object per line, as soon as they are known, so that the caller keeps what was
measured even when it stops this process at its time budget.
"""

import json
import resource
import sys
import time

import numpy as np
import torch
from torch.autograd.functional import hessian


# ---- The models (keep in step with bench/models/*.hess) ---------------------------------

def mlp_3_5_1(theta, d):
    # param W1[3, 5], b1[5], w2[5], b2; data X[N, 3], y[N]
    W1 = theta[0:15].view(3, 5)
    b1 = theta[15:20]
    w2 = theta[20:25]
    b2 = theta[25]
    h = torch.tanh(d["X"] @ W1 + b1)
    return torch.mean((h @ w2 + b2 - d["y"]) ** 2)


def mlp_64_32_10(theta, d):
    # param W1[64, 32], b1[32], W2[32, 10], b2[10]; data X[N, 64], Y[N, 10]
    W1 = theta[0:2048].view(64, 32)
    b1 = theta[2048:2080]
    W2 = theta[2080:2400].view(32, 10)
    b2 = theta[2400:2410]
    h = torch.tanh(d["X"] @ W1 + b1)
    return torch.mean((h @ W2 + b2 - d["Y"]) ** 2)


def mlp_784_32_10(theta, d):
    # param W1[784, 32], b1[32], W2[32, 10], b2[10]; data X[N, 784], Y[N, 10]
    W1 = theta[0:25088].view(784, 32)
    b1 = theta[25088:25120]
    W2 = theta[25120:25440].view(32, 10)
    b2 = theta[25440:25450]
    h = torch.tanh(d["X"] @ W1 + b1)
    return torch.mean((h @ W2 + b2 - d["Y"]) ** 2)


def rosenbrock_1000(theta, d):
    # param x[1000]
    x = theta
    return torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def softmax_64_128(theta, d):
    # param W[64, 128], b[128]; data X[N, 64], Y[N, 128]
    W = theta[0:8192].view(64, 128)
    b = theta[8192:8320]
    Z = d["X"] @ W + b
    return torch.mean(torch.logsumexp(Z, dim=1) - torch.sum(d["Y"] * Z, dim=1))


MODELS = {
    "mlp_3_5_1": (mlp_3_5_1, 26),
    "mlp_64_32_10": (mlp_64_32_10, 2410),
    "mlp_784_32_10": (mlp_784_32_10, 25450),
    "rosenbrock_1000": (rosenbrock_1000, 1000),
    "softmax_64_128": (softmax_64_128, 8320),
}


# ---- Harness ----------------------------------------------------------------------------

def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def load(path, shape):
    a = np.fromfile(path, dtype="<f8")
    expected = int(np.prod(shape)) if shape else 1
    if a.size != expected:
        raise ValueError(f"{path}: {a.size} numbers, expected {expected} for shape {shape}")
    t = torch.from_numpy(a.astype(np.float64))
    return t.reshape(shape) if shape else t.reshape(())


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    limit_gb = job.get("memory_limit_gb")
    if limit_gb:
        # Fail with an exception (reported) rather than exhausting the machine.
        b = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (b, b))
    torch.set_num_threads(job.get("threads", 1))
    torch.set_default_dtype(torch.float64)

    fn, n = MODELS[job["model"]]
    if job["n"] != n:
        raise ValueError(f"{job['model']}: n = {job['n']} from the compiler, {n} here")
    theta = load(job["theta"], [n])
    data = {name: load(spec["path"], spec["shape"]) for name, spec in job["data"].items()}
    f = lambda t: fn(t, data)
    emit(event="ready", torch=torch.__version__, threads=torch.get_num_threads())
    emit(event="value", value=float(f(theta)))

    # Selected rows of the Hessian by double backward (cheap even where the full Hessian is
    # too slow): row i is the gradient of g[i].
    rows = job.get("check_rows")
    if rows:
        t = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(t), t, create_graph=True)
        R = np.zeros((len(rows), n))
        for k, i in enumerate(rows):
            (r,) = torch.autograd.grad(g[i], t, retain_graph=True, allow_unused=True)
            if r is not None:
                R[k] = r.detach().numpy()
        R.astype("<f8").tofile(job["rows_out"])
        emit(event="rows", path=job["rows_out"], rows=rows)
        del g, t

    warmup = job.get("warmup", 1)
    # What a sample measures: the process's CPU time (not inflated by other work on a shared
    # machine) or wall time; the warm-up is on the same clock, targets are wall time.
    clock = time.process_time if job.get("clock", "wall") == "cpu" else time.perf_counter
    # Warm-up lasts at least this long too (unless one call already did).
    warmup_seconds = job.get("warmup_seconds", 0.0)
    min_reps = job.get("min_reps", 3)
    max_reps = job.get("max_reps", 30)
    target = job.get("target_seconds", 1.0)
    written = False
    for variant in job.get("variants", ["vectorize=False", "vectorize=True"]):
        vectorize = variant == "vectorize=True"
        try:
            times = []
            start = time.perf_counter()
            warm_calls = 0
            clock_start = clock()
            while len(times) < max_reps:
                c0 = clock()
                emit(event="calling", variant=variant, clock=c0)
                H = hessian(f, theta, vectorize=vectorize)
                dt = clock() - c0
                warming = warm_calls < warmup or c0 - clock_start < warmup_seconds
                phase = "warmup" if warming else "rep"
                warm_calls += warming
                emit(event="call", variant=variant, phase=phase, seconds=dt)
                if not written:
                    H.detach().numpy().astype("<f8").tofile(job["hessian_out"])
                    written = True
                    emit(event="hessian", path=job["hessian_out"], shape=list(H.shape))
                if phase == "rep":
                    times.append(dt)
                del H
                # Enough reps, and enough time spent on this variant: move on. A call slower than
                # `slow_seconds` is timed once after the warm-up (a shared machine's time is short).
                if times and dt >= job.get("slow_seconds", float("inf")):
                    break
                if len(times) >= min_reps and time.perf_counter() - start >= target + warmup_seconds:
                    break
            emit(event="variant", variant=variant, median_s=float(np.median(times)) if times else None, reps=len(times))
        except (RuntimeError, MemoryError) as e:
            emit(event="error", variant=variant, message=str(e).splitlines()[0][:300])
    emit(event="done")


if __name__ == "__main__":
    main()
