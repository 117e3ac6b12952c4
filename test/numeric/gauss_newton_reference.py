# Reference generalized Gauss-Newton matrices for test/numeric/gauss-newton.test.ts, computed
# numerically with PyTorch (float64), independently of hessgen's symbolic form:
#
#   GGN = Mᵀ · ∇²ℓ(o₁, …, o_K, θ) · M,   M = [J₁; …; J_K; I],   J_a = ∂o_a/∂θ,
#
# with J from torch.autograd.functional.jacobian and ∇²ℓ (over the outputs and θ together) from
# torch.autograd.functional.hessian. Each model below is the .hess model of the same name in the
# test, written again in PyTorch: `outputs(p, d)` gives the outputs' values, `loss(o, p, d)` the
# objective with each output's value passed in as o[a].
#
# stdin: JSON {"cases": [{"model": name, "theta": [...], "data": {name: [...]}, "N": int}]}
# stdout: JSON {"results": [{"ggn": [n*n values, row-major], "hessian": [...]}]}
import json
import sys

import torch
from torch.autograd.functional import hessian, jacobian

torch.set_default_dtype(torch.float64)


def mse_mlp():
    params = [('W1', (3, 4)), ('b1', (4,)), ('w2', (4,)), ('b2', ())]
    data = [('X', ('N', 3)), ('y', ('N',))]

    def outputs(p, d):
        h = torch.tanh(d['X'] @ p['W1'] + p['b1'])
        return [h @ p['w2'] + p['b2']]

    def loss(o, p, d):
        return torch.mean((o[0] - d['y']) ** 2) + 0.01 * torch.sum(p['W1'] ** 2)

    return params, data, outputs, loss


def softmax_mlp():
    params = [('W1', (4, 5)), ('b1', (5,)), ('W2', (5, 3)), ('b2', (3,))]
    data = [('X', ('N', 4)), ('Y', ('N', 3))]

    def outputs(p, d):
        h = torch.tanh(d['X'] @ p['W1'] + p['b1'])
        return [h @ p['W2'] + p['b2']]

    def loss(o, p, d):
        Z = o[0]
        ce = torch.logsumexp(Z, 1) - torch.sum(d['Y'] * Z, 1)
        return torch.mean(ce) + 0.001 * (torch.sum(p['W1'] ** 2) + torch.sum(p['W2'] ** 2))

    return params, data, outputs, loss


def gaussian_nll():
    # Two outputs (mean and log-variance) coupled in the loss.
    params = [('w', (2,)), ('v', (2,)), ('c', ())]
    data = [('X', ('N', 2)), ('y', ('N',))]

    def outputs(p, d):
        return [torch.tanh(d['X'] @ p['w']) + p['c'], d['X'] @ p['v']]

    def loss(o, p, d):
        mu, s = o
        return torch.mean(0.5 * torch.exp(-s) * (d['y'] - mu) ** 2 + 0.5 * s)

    return params, data, outputs, loss


def nested():
    # z2 is computed from the output z1; the loss reads both, and b2 directly next to z2.
    params = [('W1', (2, 3)), ('w2', (3,)), ('b2', ())]
    data = [('X', ('N', 2)), ('y', ('N',))]

    def outputs(p, d):
        z1 = torch.tanh(d['X'] @ p['W1'])
        z2 = torch.sin(z1 @ p['w2']) + p['b2']
        return [z1, z2]

    def loss(o, p, d):
        z1, z2 = o
        return torch.mean((z2 - d['y']) ** 2) + 0.1 * torch.mean(z1 ** 2) + 0.3 * p['b2'] * torch.mean(z2 ** 3) + p['b2'] ** 4

    return params, data, outputs, loss


def scalar_output():
    params = [('a', (3,)), ('b', ())]
    data = []

    def outputs(p, d):
        return [torch.sum(torch.sin(p['a']) * p['b'])]

    def loss(o, p, d):
        return torch.log1p(o[0] ** 2) + torch.exp(o[0]) * p['b'] + torch.sum(p['a'] ** 3)

    return params, data, outputs, loss


MODELS = {'mse_mlp': mse_mlp, 'softmax_mlp': softmax_mlp, 'gaussian_nll': gaussian_nll, 'nested': nested, 'scalar_output': scalar_output}


def size(shape):
    s = 1
    for x in shape:
        s *= x
    return s


def run(case):
    params, data_decl, outputs, loss = MODELS[case['model']]()
    N = case.get('N', 0)
    d = {}
    for name, shape in data_decl:
        sh = tuple(N if x == 'N' else x for x in shape)
        d[name] = torch.tensor(case['data'][name], dtype=torch.float64).reshape(sh)
    theta = torch.tensor(case['theta'], dtype=torch.float64)
    n = theta.numel()

    def unflatten(t):
        p, k = {}, 0
        for name, shape in params:
            m = size(shape)
            p[name] = t[k:k + m].reshape(shape)
            k += m
        return p

    outs = [o.detach() for o in outputs(unflatten(theta), d)]
    sizes = [o.numel() for o in outs]
    # J_a: one row per output element, one column per θ entry.
    Js = []
    for a, o in enumerate(outs):
        J = jacobian(lambda t, a=a: outputs(unflatten(t), d)[a].reshape(-1), theta)
        Js.append(J.reshape(sizes[a], n))
    M = torch.cat(Js + [torch.eye(n)], 0)

    def ell(z):
        os, k = [], 0
        for o in outs:
            os.append(z[k:k + o.numel()].reshape(o.shape))
            k += o.numel()
        return loss(os, unflatten(z[k:]), d)

    z0 = torch.cat([o.reshape(-1) for o in outs] + [theta])
    Hl = hessian(ell, z0)
    G = M.T @ Hl @ M
    H = hessian(lambda t: loss(outputs(unflatten(t), d), unflatten(t), d), theta)
    return {'ggn': G.reshape(-1).tolist(), 'hessian': H.reshape(-1).tolist()}


def main():
    req = json.load(sys.stdin)
    json.dump({'results': [run(c) for c in req['cases']]}, sys.stdout)


if __name__ == '__main__':
    main()
