#!/usr/bin/env python3
"""Peer side of the GPU bench (bench/gpu.ts): JAX and torch.func Hessians, float32, CUDA.

Usage: python3 bench/gpu_peers.py JOB.json [--peers=jax,torch.func] [--models=a,b]

JOB.json (written by bench/gpu.ts) lists the models, the files holding theta and the data
(raw little-endian float32, row-major: exactly the arrays given to the generated GPU module),
the flat Hessian indices whose values are reported back for the agreement check, and the
time budget of each model. Each model below is written by hand to match its .hess file in
bench/models/, with theta unpacked in the same layout: every `param` in declaration order,
flattened row-major. Keep them in step.

Peers (--peers, default: the job's "peers"):
  jax             jax.jit(jax.hessian(f)), JAX's default matmul precision (TF32 on Ampere
                  and later GPUs: what a JAX user gets)
  jax-f32         the same inside jax.default_matmul_precision("highest"): true float32
  torch.func      torch.func.hessian(f) (jacfwd over jacrev), TF32 off (PyTorch's default)
  torch.autograd  torch.autograd.functional.hessian(vectorize=True): a float32 reference for
                  small problems only (CPU dry runs, smoke tests); not a GPU peer
A problem with batched data (the per-sample model) uses vmap over the data with theta shared:
jax.jit(jax.vmap(jax.hessian(f), in_axes=(None, 0, 0))) and
torch.func.vmap(torch.func.hessian(f), in_dims=(None, 0, 0)).

Each (peer, model) is timed as: one call that compiles (reported as first_call_ms), one more
warm-up call, then calls until min_reps were made and target_s was spent, or max_reps, or the
model's budget_s is used up; the result is the median. Every call ends with
.block_until_ready() (JAX) or torch.cuda.synchronize() (PyTorch on CUDA).

Output: one JSON object per line on stdout, as soon as it is known, so that the caller keeps
what was measured even when it stops this process:
  {"event": "peer", "peer", "version", "platform", "device", "precision"}   the peer imported
  {"event": "start", "peer", "model"}                                       a model begins
  {"event": "result", "peer", "model", "median_ms", "runs", "first_call_ms", "samples_ms",
   "value", "max_abs", "entries", "platform", ...}                          a model is timed
  {"event": "error", "peer", "model"?, "error"}                             import, OOM, ...
  {"event": "done", "peer"}
"entries" are the peer's Hessian at the job's flat indices (into the n*n Hessian, or into
the B*n*n stack of per-problem Hessians); "max_abs" is max |H| over all entries. Non-finite
numbers are written as null. Errors are per peer and per model: a missing framework, an
out-of-memory or any exception is reported and the script goes on with the next one.
It also runs without a GPU (CPU tensors, slowly) for a syntax-level check.
"""

import json
import math
import os
import sys
import time
import traceback

# JAX grabs 75% of the GPU's memory at start-up unless told otherwise; the WebGPU process
# that spawned us and the next peer need theirs.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np  # noqa: E402


# ---- The models (keep in step with bench/models/*.hess) ---------------------------------
#
# Written once over a tiny array namespace `xp` (see JaxOps / TorchOps), so that JAX and
# PyTorch run the very same formula. `d` holds the data arrays by their .hess names.

MODELS = {
    # bench/models/mlp_784_32_10.hess: param W1[784, 32], b1[32], W2[32, 10], b2[10];
    # data X[N, 784], Y[N, 10]; minimize mean((tanh(X*W1 + b1)*W2 + b2 - Y) .^ 2),
    # the mean over all N*10 entries.
    "mlp_784_32_10": {
        "params": [("W1", (784, 32)), ("b1", (32,)), ("W2", (32, 10)), ("b2", (10,))],
        "data": ["X", "Y"],
        "f": lambda xp, p, d: xp.mean((xp.tanh(d["X"] @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - d["Y"]) ** 2),
    },
    # bench/models/mlp_64_32_10.hess: the same network with 64 inputs.
    "mlp_64_32_10": {
        "params": [("W1", (64, 32)), ("b1", (32,)), ("W2", (32, 10)), ("b2", (10,))],
        "data": ["X", "Y"],
        "f": lambda xp, p, d: xp.mean((xp.tanh(d["X"] @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - d["Y"]) ** 2),
    },
    # bench/models/softmax_64_128.hess: param W[64, 128], b[128]; data X[N, 64], Y[N, 128];
    # Z = X*W + b; minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)).
    "softmax_64_128": {
        "params": [("W", (64, 128)), ("b", (128,))],
        "data": ["X", "Y"],
        "f": lambda xp, p, d: softmax_objective(xp, d["X"] @ p["W"] + p["b"], d["Y"]),
    },
    # bench/models/mlp_3_5_1_sample.hess: param W1[3, 5], b1[5], w2[5], b2; data x[3], y
    # (one sample); minimize (tanh(x*W1 + b1)*w2 + b2 - y) ^ 2. Batched over x and y.
    "mlp_3_5_1_sample": {
        "params": [("W1", (3, 5)), ("b1", (5,)), ("w2", (5,)), ("b2", ())],
        "data": ["x", "y"],
        "f": lambda xp, p, d: (xp.tanh(d["x"] @ p["W1"] + p["b1"]) @ p["w2"] + p["b2"] - d["y"]) ** 2,
    },
}


def softmax_objective(xp, Z, Y):
    return xp.mean(xp.logsumexp_rows(Z) - xp.sum_rows(Y * Z))


def unpack(theta, params):
    """theta (flat) -> {name: view}, in declaration order, row-major."""
    out, offset = {}, 0
    for name, shape in params:
        size = int(np.prod(shape)) if shape else 1
        part = theta[offset:offset + size]
        out[name] = part.reshape(shape) if shape else part.reshape(())
        offset += size
    return out


def param_count(params):
    return sum(int(np.prod(s)) if s else 1 for _, s in params)


class JaxOps:
    def __init__(self, jnp, jax):
        self.jnp, self.jax = jnp, jax

    def tanh(self, a):
        return self.jnp.tanh(a)

    def mean(self, a):
        return self.jnp.mean(a)

    def logsumexp_rows(self, a):
        return self.jax.nn.logsumexp(a, axis=1)

    def sum_rows(self, a):
        return self.jnp.sum(a, axis=1)


class TorchOps:
    def __init__(self, torch):
        self.torch = torch

    def tanh(self, a):
        return self.torch.tanh(a)

    def mean(self, a):
        return self.torch.mean(a)

    def logsumexp_rows(self, a):
        return self.torch.logsumexp(a, dim=1)

    def sum_rows(self, a):
        return self.torch.sum(a, dim=1)


# ---- Harness ----------------------------------------------------------------------------

def clean(x):
    """JSON has no NaN or Infinity (JavaScript's JSON.parse rejects them): write null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, list):
        return [clean(v) for v in x]
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    return x


def emit(**event):
    sys.stdout.write(json.dumps(clean(event)) + "\n")
    sys.stdout.flush()


def short(e):
    lines = [l for l in str(e).strip().splitlines() if l.strip()]
    text = lines[0] if lines else ""
    return f"{type(e).__name__}: {text}"[:400]


def load_f32(path, shape):
    a = np.fromfile(path, dtype="<f4")
    expected = int(np.prod(shape)) if shape else 1
    if a.size != expected:
        raise ValueError(f"{path}: {a.size} float32 numbers, expected {expected} for shape {shape}")
    return a.reshape(shape) if shape else a.reshape(())


def load_problem(spec):
    """theta and data of one model, as numpy float32 arrays, checked against MODELS."""
    m = MODELS.get(spec["name"])
    if m is None:
        raise KeyError(f"no peer definition for model {spec['name']!r} in gpu_peers.py")
    n = param_count(m["params"])
    if spec["n"] != n:
        raise ValueError(f"{spec['name']}: n = {spec['n']} in the job, {n} here (the .hess file and gpu_peers.py differ?)")
    theta = load_f32(spec["theta"], [n])
    data = {}
    for name in m["data"]:
        if name not in spec["data"]:
            raise KeyError(f"{spec['name']}: the job has no data array {name!r}")
        d = spec["data"][name]
        data[name] = load_f32(d["path"], d["shape"])
    batch = spec.get("batch")  # {"size": B, "arrays": [...]} for per-sample problems
    return m, theta, data, batch


class Timer:
    """Warm-up, then repetitions within the model's budget; median in milliseconds."""

    def __init__(self, spec):
        self.budget = float(spec.get("budget_s", 60))
        self.target = float(spec.get("target_s", 2.0))
        self.min_reps = int(spec.get("min_reps", 5))
        self.max_reps = int(spec.get("max_reps", 100))
        self.warmup = int(spec.get("warmup", 2))

    def run(self, call):
        """call() computes the Hessian and waits for it; returns the result.
        Returns (first result, first_call_ms, [samples_ms])."""
        start = time.perf_counter()
        t0 = time.perf_counter()
        first = call()
        first_ms = 1000 * (time.perf_counter() - t0)
        # The first result is kept for the agreement check; further calls drop theirs.
        for _ in range(self.warmup - 1):
            if time.perf_counter() - start > self.budget / 2:
                break
            call()
        samples = []
        spent = 0.0
        while len(samples) < self.max_reps:
            elapsed = time.perf_counter() - start
            last = samples[-1] / 1000 if samples else 0.0
            if samples and elapsed + last > self.budget:
                break
            if len(samples) >= self.min_reps and spent >= self.target:
                break
            t0 = time.perf_counter()
            call()
            dt = time.perf_counter() - t0
            samples.append(1000 * dt)
            spent += dt
        return first, first_ms, samples


def median(xs):
    return float(np.median(xs)) if xs else None


# ---- JAX ----------------------------------------------------------------------------------

def run_jax(peer, job, specs, want_gpu):
    try:
        import jax
        import jax.numpy as jnp
    except Exception as e:  # ImportError, or a broken CUDA plug-in
        emit(event="error", peer=peer, error=f"cannot import jax: {short(e)}")
        return
    try:
        dev = jax.devices()[0]
    except Exception as e:
        emit(event="error", peer=peer, error=f"jax.devices(): {short(e)}")
        return
    precision = "highest" if peer == "jax-f32" else "default"
    emit(event="peer", peer=peer, version=jax.__version__, platform=dev.platform, device=str(dev),
         precision=f"jax_default_matmul_precision={precision}")
    if want_gpu and dev.platform != "gpu":
        emit(event="error", peer=peer, error=f"JAX runs on {dev.platform}, not on a GPU: timings would mean nothing")
    xp = JaxOps(jnp, jax)

    for spec in specs:
        name = spec["name"]
        emit(event="start", peer=peer, model=name)
        try:
            with jax.default_matmul_precision(precision) if precision != "default" else _null():
                result = jax_model(jax, jnp, xp, spec)
            emit(event="result", peer=peer, model=name, platform=dev.platform, **result)
        except Exception as e:
            emit(event="error", peer=peer, model=name, error=short(e))
        getattr(jax, "clear_caches", lambda: None)()  # drop compiled executables (JAX ≥ 0.4.x)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def jax_model(jax, jnp, xp, spec):
    m, theta_np, data_np, batch = load_problem(spec)
    names = m["data"]
    fm = m["f"]

    def f(theta, *arrays):
        return fm(xp, unpack(theta, m["params"]), dict(zip(names, arrays)))

    theta = jax.device_put(theta_np)
    arrays = [jax.device_put(data_np[k]) for k in names]
    if batch:
        in_axes = (None,) + tuple(0 if k in batch["arrays"] else None for k in names)
        hess = jax.jit(jax.vmap(jax.hessian(f), in_axes=in_axes))
        first_args = [a[0] if k in batch["arrays"] else a for k, a in zip(names, arrays)]
        value = float(jax.jit(f)(theta, *first_args))  # problem 0
    else:
        hess = jax.jit(jax.hessian(f))
        value = float(jax.jit(f)(theta, *arrays))

    def call():
        H = hess(theta, *arrays)
        H.block_until_ready()
        return H

    H, first_ms, samples = Timer(spec).run(call)
    flat = H.reshape(-1)
    idx = jnp.asarray(np.asarray(spec.get("indices", []), dtype=np.int64).astype(np.int32))
    entries = [float(v) for v in np.asarray(flat[idx])] if len(spec.get("indices", [])) else []
    max_abs = float(jnp.max(jnp.abs(flat)))
    shape = list(H.shape)
    del H, flat
    return dict(median_ms=median(samples), runs=len(samples), first_call_ms=first_ms,
                samples_ms=samples, value=value, max_abs=max_abs, entries=entries, shape=shape)


# ---- PyTorch ------------------------------------------------------------------------------

def run_torch(peer, job, specs, want_gpu):
    try:
        import torch
    except Exception as e:
        emit(event="error", peer=peer, error=f"cannot import torch: {short(e)}")
        return
    if peer == "torch.func" and not hasattr(torch, "func"):
        emit(event="error", peer=peer, error=f"torch {torch.__version__} has no torch.func (needs PyTorch 2.0 or later)")
        return
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    allow_tf32 = bool(torch.backends.cuda.matmul.allow_tf32) if cuda else False
    emit(event="peer", peer=peer, version=torch.__version__, platform="gpu" if cuda else "cpu",
         device=torch.cuda.get_device_name(0) if cuda else "cpu",
         precision=f"torch.backends.cuda.matmul.allow_tf32={allow_tf32}")
    if want_gpu and not cuda:
        emit(event="error", peer=peer, error="PyTorch sees no CUDA device: timings would mean nothing")
    xp = TorchOps(torch)

    for spec in specs:
        name = spec["name"]
        emit(event="start", peer=peer, model=name)
        try:
            result = torch_model(torch, device, xp, peer, spec)
            emit(event="result", peer=peer, model=name, platform="gpu" if cuda else "cpu", **result)
        except Exception as e:
            emit(event="error", peer=peer, model=name, error=short(e))
        if cuda:
            torch.cuda.empty_cache()


def torch_model(torch, device, xp, peer, spec):
    m, theta_np, data_np, batch = load_problem(spec)
    names = m["data"]
    fm = m["f"]
    cuda = device.type == "cuda"

    def f(theta, *arrays):
        return fm(xp, unpack(theta, m["params"]), dict(zip(names, arrays)))

    theta = torch.from_numpy(np.ascontiguousarray(theta_np)).to(device)
    arrays = [torch.from_numpy(np.ascontiguousarray(data_np[k])).to(device) for k in names]
    batched = [bool(batch) and k in batch["arrays"] for k in names]

    if peer == "torch.func":
        if batch:
            hess = torch.func.vmap(torch.func.hessian(f), in_dims=(None,) + tuple(0 if b else None for b in batched))
        else:
            hess = torch.func.hessian(f)
    else:  # torch.autograd: a reference for small problems (CPU dry runs)
        from torch.autograd.functional import hessian as ag_hessian

        if batch:
            size = int(batch["size"])
            if size > 4096:
                raise ValueError(f"torch.autograd loops over the {size} problems: only for small batches (≤ 4096)")

            def hess(theta, *arrs):
                return torch.stack([
                    ag_hessian(lambda t: f(t, *[a[b] if bt else a for a, bt in zip(arrs, batched)]), theta, vectorize=True)
                    for b in range(size)
                ])
        else:
            def hess(theta, *arrs):
                return ag_hessian(lambda t: f(t, *arrs), theta, vectorize=True)

    with torch.no_grad():
        if batch:
            value = float(f(theta, *[a[0] if b else a for a, b in zip(arrays, batched)]))
        else:
            value = float(f(theta, *arrays))

    def call():
        H = hess(theta, *arrays)
        if cuda:
            torch.cuda.synchronize()
        return H

    H, first_ms, samples = Timer(spec).run(call)
    H = H.detach()
    flat = H.reshape(-1)
    ind = spec.get("indices", [])
    entries = [float(v) for v in flat[torch.as_tensor(ind, dtype=torch.long, device=flat.device)].cpu().numpy()] if ind else []
    max_abs = float(flat.abs().max())
    shape = list(H.shape)
    del H, flat
    return dict(median_ms=median(samples), runs=len(samples), first_call_ms=first_ms,
                samples_ms=samples, value=value, max_abs=max_abs, entries=entries, shape=shape)


# ---- Main -------------------------------------------------------------------------------

RUNNERS = {"jax": run_jax, "jax-f32": run_jax, "torch.func": run_torch, "torch.autograd": run_torch}


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in argv[1:] if a.startswith("--"))
    if len(args) != 1 or set(opts) - {"peers", "models"}:
        sys.stderr.write("usage: python3 bench/gpu_peers.py JOB.json [--peers=jax,jax-f32,torch.func] [--models=a,b]\n")
        return 2
    with open(args[0]) as fh:
        job = json.load(fh)
    peers = [p for p in (opts.get("peers") or ",".join(job.get("peers", ["jax", "torch.func"]))).split(",") if p]
    wanted = [m for m in opts.get("models", "").split(",") if m]
    specs = [s for s in job["models"] if not wanted or s["name"] in wanted]
    want_gpu = job.get("device", "cuda") == "cuda"
    for peer in peers:
        runner = RUNNERS.get(peer)
        if runner is None:
            emit(event="error", peer=peer, error=f"unknown peer {peer!r} (known: {', '.join(RUNNERS)})")
            continue
        try:
            runner(peer, job, specs, want_gpu)
        except Exception as e:  # a bug here: report it and go on with the next peer
            emit(event="error", peer=peer, error=f"{short(e)} | {traceback.format_exc().splitlines()[-3].strip()}")
        emit(event="done", peer=peer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
