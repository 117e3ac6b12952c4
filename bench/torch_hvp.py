#!/usr/bin/python3
"""PyTorch side of bench/hvp.ts: the gradient and torch.autograd.functional.hvp.

Usage: /usr/bin/python3 bench/torch_hvp.py JOB.json

JOB.json (written by bench/hvp.ts) names a model of bench/torch_hessian.py, the files holding
theta, v and the data (raw little-endian float64), and where to write PyTorch's gradient and
H·v. Float64, one thread. The two are timed interleaved (one call of each per round, after a
warm-up of at least `warmup_seconds`), so that both see the same load; results go to stdout as
the JSON lines bench/torch_hessian.py writes ("call" events with variant "gradient" or "hvp"),
on the clock the job names ("cpu": the process's CPU time; "wall").
"""

import json
import sys
import time

import numpy as np
import torch
from torch.autograd.functional import hvp

from torch_hessian import MODELS, emit, load


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    torch.set_num_threads(job.get("threads", 1))
    torch.set_default_dtype(torch.float64)
    fn, n = MODELS[job["model"]]
    if job["n"] != n:
        raise ValueError(f"{job['model']}: n = {job['n']} from the compiler, {n} here")
    theta = load(job["theta"], [n])
    v = load(job["v"], [n])
    data = {name: load(spec["path"], spec["shape"]) for name, spec in job["data"].items()}
    f = lambda t: fn(t, data)
    emit(event="ready", torch=torch.__version__, threads=torch.get_num_threads())

    def gradient():
        t = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(t), t)
        return g

    def hv():
        return hvp(f, theta, v)[1]

    np.asarray(gradient().detach().numpy(), dtype="<f8").tofile(job["gradient_out"])
    np.asarray(hv().detach().numpy(), dtype="<f8").tofile(job["hvp_out"])
    emit(event="hvp", gradient=job["gradient_out"], hvp=job["hvp_out"])

    # What a sample measures: the process's CPU time (not inflated by other work on a shared
    # machine) or wall time; the warm-up and the target are wall time.
    clock = time.process_time if job.get("clock", "wall") == "cpu" else time.perf_counter
    warmup_seconds = job.get("warmup_seconds", 1.0)
    target = job.get("target_seconds", 1.0)
    min_reps = job.get("min_reps", 5)
    max_reps = job.get("max_reps", 200)
    start = time.perf_counter()
    clock_start = clock()
    reps = 0
    while reps < max_reps:
        warming = clock() - clock_start < warmup_seconds
        for variant, call in (("gradient", gradient), ("hvp", hv)):
            t0 = clock()
            call()
            emit(event="call", variant=variant, phase="warmup" if warming else "rep", seconds=clock() - t0)
        if not warming:
            reps += 1
            if reps >= min_reps and time.perf_counter() - start >= target:
                break
    emit(event="done")


if __name__ == "__main__":
    main()
