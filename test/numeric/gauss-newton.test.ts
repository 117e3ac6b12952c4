// gaussNewton(θ, data, out?): the generalized Gauss-Newton matrix of models with `output`
// declarations, checked against PyTorch's Mᵀ·∇²ℓ·M (M = [J; I], J from autograd's jacobian,
// ∇²ℓ over the outputs and θ together; gauss_newton_reference.py), against the dense Hessian
// where the outputs are affine in θ, against JᵀJ with J from finite differences of the outputs,
// and for positive semi-definiteness on convex losses.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { symmetricEigenvalues } from '../../playground/src/eigen.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { compileModel, type DataArg } from '../helpers/load.ts';
import { asymmetry, maxAbs, relativeError } from '../helpers/numeric.ts';
import { makeRng } from '../helpers/rng.ts';
import { GGN_MODELS, ggnPoint, type WithGgn } from './gauss-newton-models.ts';

const load = async (source: string, path: string): Promise<WithGgn> => (await compileModel(source, path)).module as WithGgn;

/** PyTorch's GGN and Hessian for each case, or null (reported) when torch cannot be imported. */
function torchReference(cases: { model: string; theta: number[]; data: Record<string, number[]>; N: number }[]): { ggn: number[]; hessian: number[] }[] | null {
  const script = join(repoRoot, 'test', 'numeric', 'gauss_newton_reference.py');
  const r = spawnSync('/usr/bin/python3', [script], { input: JSON.stringify({ cases }), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    const missing = /No module named 'torch'|ENOENT/.test(`${r.stderr}${r.error?.message ?? ''}`);
    if (missing && process.env.CI !== 'true') {
      console.warn(`\n*** SKIPPED: the PyTorch Gauss-Newton reference needs /usr/bin/python3 with torch (apt-get install python3-torch) ***\n`);
      return null;
    }
    throw new Error(`gauss_newton_reference.py failed (${r.status}): ${r.stderr || r.error?.message}`);
  }
  return (JSON.parse(r.stdout) as { results: { ggn: number[]; hessian: number[] }[] }).results;
}

/** Cholesky of G + δI: succeeds exactly when every eigenvalue of G exceeds −δ (up to rounding). */
function choleskyShifted(G: ArrayLike<number>, n: number, delta: number): boolean {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[i * n + j]! + (i === j ? delta : 0);
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) return false;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  return true;
}

describe('gaussNewton against PyTorch (Mᵀ ∇²ℓ M)', () => {
  it('every model, two points, two batch sizes', async () => {
    const cases: { model: string; theta: number[]; data: Record<string, number[]>; N: number }[] = [];
    const ours: { ggn: Float64Array; hessian: Float64Array; n: number; label: string }[] = [];
    for (const m of GGN_MODELS) {
      const mod = await load(m.source, `${m.name}.hess`);
      const n = mod.model.n;
      for (const [N, seed] of [[7, 'a'], [3, 'b']] as const) {
        const p = ggnPoint(m, n, N, seed);
        const G = mod.gaussNewton(p.theta, p.data);
        expect(asymmetry(G, n), `${m.name}: exact symmetry`).toBeNull();
        ours.push({ ggn: G, hessian: mod.hessian(p.theta, p.data), n, label: `${m.name} N=${N} ${seed}` });
        cases.push({ model: m.name, theta: [...p.theta], data: Object.fromEntries(Object.entries(p.data).map(([k, v]) => [k, [...v]])), N });
      }
    }
    const ref = torchReference(cases);
    if (ref === null) return;
    ours.forEach((o, k) => {
      // The Hessians agree first: the PyTorch model is the same model.
      expect(relativeError(o.hessian, ref[k]!.hessian, 1e-8), `${o.label}: Hessian vs torch`).toBeLessThan(1e-10);
      expect(relativeError(o.ggn, ref[k]!.ggn, 1e-8), `${o.label}: GGN vs torch`).toBeLessThan(1e-10);
      // and the GGN is not the Hessian (the outputs are nonlinear), so the comparison tells.
      expect(relativeError(o.ggn, o.hessian), `${o.label}: GGN differs from H`).toBeGreaterThan(1e-6);
    });
  }, 120_000);
});

describe('gaussNewton equals the Hessian when the outputs are affine in θ', () => {
  const affine: [string, string, [string, (number | 'N')[]][]][] = [
    ['logreg', `dim N
data X[N, 3]
data y[N]
param w[3]
param b
output z = X * w + b
minimize mean(softplus(z) - y .* z) + 0.1 * sum(w .^ 2)
`, [['X', ['N', 3]], ['y', ['N']]]],
    ['softmax_reg', `dim N
data X[N, 3]
data Y[N, 4]
param W[3, 4]
param b[4]
output Z = X * W + b
minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2))
`, [['X', ['N', 3]], ['Y', ['N', 4]]]],
    ['param_output', `param w[4]
param c
output q = w
minimize sum(exp(q) .* sin(w)) + c ^ 2 * sum(q .^ 2)
`, []],
  ];
  for (const [name, source, data] of affine) {
    it(name, async () => {
      const mod = await load(source, `${name}.hess`);
      const p = ggnPoint({ name, source, data, convex: false }, mod.model.n, 6, 'affine');
      const G = mod.gaussNewton(p.theta, p.data);
      const H = mod.hessian(p.theta, p.data);
      expect(maxAbs(H)).toBeGreaterThan(1e-3);
      expect(relativeError(G, H), `${name}: GGN vs H`).toBeLessThan(1e-13);
    });
  }
});

describe('gaussNewton is positive semi-definite for convex losses', () => {
  for (const m of GGN_MODELS.filter((x) => x.convex)) {
    it(m.name, async () => {
      const mod = await load(m.source, `${m.name}.hess`);
      const n = mod.model.n;
      let indefiniteH = false;
      for (let k = 0; k < 6; k++) {
        const p = ggnPoint(m, n, 2 + 3 * k, `psd${k}`);
        // Larger weights too, where the Hessian is indefinite.
        const theta = p.theta.map((t) => t * (1 + k));
        const G = mod.gaussNewton(theta, p.data);
        const scale = maxAbs(G);
        const ev = symmetricEigenvalues(G, n);
        expect(ev[0]!, `${m.name} #${k}: smallest eigenvalue ${ev[0]} (largest ${ev[n - 1]})`).toBeGreaterThanOrEqual(-1e-12 * scale);
        expect(choleskyShifted(G, n, 1e-12 * scale), `${m.name} #${k}: Cholesky of G + 1e-12·max·I`).toBe(true);
        if (symmetricEigenvalues(mod.hessian(theta, p.data), n)[0]! < -1e-6 * scale) indefiniteH = true;
      }
      // The check means something: at some of these points the Hessian itself is indefinite.
      expect(indefiniteH, `${m.name}: the Hessian is indefinite somewhere`).toBe(true);
    });
  }
});

describe('gaussNewton against JᵀJ with J from finite differences of the outputs', () => {
  // For ℓ = c·Σ(o − y)² + λ·Σ W1², GGN = 2c·JᵀJ + 2λ on W1's diagonal. J[r, j] is read off central
  // differences of the value of a probe model whose objective is the output's element r.
  it('mse_mlp', async () => {
    const m = GGN_MODELS.find((x) => x.name === 'mse_mlp')!;
    const mod = await load(m.source, 'mse_mlp.hess');
    const probeSource = m.source.replace(/minimize .*/, 'data u[N]\nminimize sum(yhat .* u)');
    const probe = await load(probeSource, 'mse_mlp_probe.hess');
    const n = mod.model.n;
    const N = 5;
    const p = ggnPoint(m, n, N, 'fd');
    const J = new Float64Array(N * n);
    const h = 1e-5;
    for (let r = 0; r < N; r++) {
      const u = new Float64Array(N);
      u[r] = 1;
      const data = { ...p.data, u };
      for (let j = 0; j < n; j++) {
        const tp = Float64Array.from(p.theta);
        const tm = Float64Array.from(p.theta);
        tp[j]! += h;
        tm[j]! -= h;
        J[r * n + j] = (probe.value(tp, data) - probe.value(tm, data)) / (2 * h);
      }
    }
    const ref = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < N; r++) s += J[r * n + i]! * J[r * n + j]!;
      ref[i * n + j] = (2 / N) * s + (i === j && i < 12 ? 0.02 : 0);
    }
    expect(relativeError(mod.gaussNewton(p.theta, p.data), ref, 1e-3)).toBeLessThan(1e-8);
  });
});

describe('gaussNewton API', () => {
  it('out is filled and returned; a wrong out is a RangeError; evaluators are independent', async () => {
    const m = GGN_MODELS[0]!;
    const mod = await load(m.source, `${m.name}.hess`);
    const n = mod.model.n;
    const p = ggnPoint(m, n, 9, 'api');
    const G = mod.gaussNewton(p.theta, p.data);
    const out = new Float64Array(n * n).fill(NaN);
    expect(mod.gaussNewton(p.theta, p.data, out)).toBe(out);
    expect([...out]).toEqual([...G]);
    expect(() => mod.gaussNewton(p.theta, p.data, new Float64Array(3))).toThrow(RangeError);
    expect(() => mod.gaussNewton([1, 2], p.data)).toThrow(RangeError);
    const rng = makeRng('ggn-api');
    const ev = (mod as unknown as { createEvaluator(): WithGgn & { dispose(): void } }).createEvaluator();
    const theta2 = p.theta.map(() => rng.uniform(-1, 1));
    expect([...ev.gaussNewton(theta2, p.data)]).toEqual([...mod.gaussNewton(theta2, p.data)]);
    ev.dispose();
  });
});
