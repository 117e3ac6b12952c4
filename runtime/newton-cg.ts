// Truncated Newton with a trust region (Steihaug–Toint conjugate gradients) for objectives whose
// value, gradient and Hessian-vector product are available, such as a hessgen module's `value`,
// `gradient` and `hvp`. The Hessian is never formed: each inner CG step costs one H·v, so memory
// and work per iteration grow like the gradient's, which is what large n needs.
//
// Each outer iteration approximately minimizes the model m(p) = g·p + ½ pᵀHp within ‖p‖ ≤ Δ:
// CG from p = 0 stops at a small enough residual (‖r‖ ≤ min(½, √‖g‖)·‖g‖: superlinear near a
// minimum), on negative curvature (then it goes to the boundary along that direction), or at the
// boundary. The step is taken when the actual decrease is at least η of the predicted one; Δ
// shrinks after poor predictions and grows after good steps that reached the boundary.
//
// With `diagonal` (a module's `hessianDiagonal`) the CG is preconditioned by Jacobi,
// M = diag(max(|H_ii|, 1e-8 · max |H_jj|)), recomputed at each outer iteration, and the trust
// region is measured in the M-norm ‖p‖_M = √(pᵀMp) (Steihaug's preconditioned form): on a problem
// whose unknowns have very different curvatures CG then needs far fewer H·v products.

export interface HvpObjective {
  readonly n: number;
  value(theta: Float64Array): number;
  /** Writes the gradient into `out`. */
  gradient(theta: Float64Array, out: Float64Array): void;
  /** Writes H(θ)·v into `out`. */
  hvp(theta: Float64Array, v: Float64Array, out: Float64Array): void;
  /** Optional: writes diag(H(θ)) into `out`; turns on the Jacobi preconditioner. */
  diagonal?: ((theta: Float64Array, out: Float64Array) => void) | undefined;
}

export interface NewtonCgOptions {
  /** Stop when ‖g‖∞ is below this (default 1e-8). */
  readonly tolerance?: number;
  readonly maxIterations?: number;
  /** Initial and largest trust-region radius (defaults 1 and 1e3; with the preconditioner, in the
   *  M-norm, defaults √(gᵀM⁻¹g) at θ0 (the length of the first preconditioned step) and 1e3 times
   *  the larger of that and 1). */
  readonly radius?: number;
  readonly maxRadius?: number;
  /** CG steps per outer iteration (default n). */
  readonly maxCgSteps?: number;
}

export interface NewtonCgResult {
  readonly theta: Float64Array;
  readonly value: number;
  readonly gradientNorm: number;
  readonly iterations: number;
  /** H·v products used in all (the work measure of a truncated Newton method). */
  readonly hvpCalls: number;
  /** Whether the Jacobi preconditioner was used (the objective has `diagonal`). */
  readonly preconditioned: boolean;
  readonly converged: boolean;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Σ a_i m_i b_i (m = null: the plain dot product). */
const mdot = (a: Float64Array, m: Float64Array | null, b: Float64Array): number => {
  if (m === null) return dot(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * m[i]! * b[i]!;
  return s;
};

/** τ ≥ 0 with ‖z + τd‖_M = Δ. */
function toBoundary(z: Float64Array, d: Float64Array, m: Float64Array | null, radius: number): number {
  const a = mdot(d, m, d);
  const b = 2 * mdot(z, m, d);
  const c = mdot(z, m, z) - radius * radius;
  return (-b + Math.sqrt(Math.max(0, b * b - 4 * a * c))) / (2 * a);
}

export function newtonCgSolve(f: HvpObjective, theta0: ArrayLike<number>, options: NewtonCgOptions = {}): NewtonCgResult {
  const n = f.n;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`newtonCgSolve: n must be a positive integer, got ${n}`);
  if (theta0 == null || theta0.length !== n) throw new RangeError(`newtonCgSolve: theta0 has length ${theta0?.length}, expected ${n}`);
  for (const name of ['value', 'gradient', 'hvp'] as const)
    if (typeof f[name] !== 'function') throw new RangeError(`newtonCgSolve: f.${name} must be a function`);
  const positive = (name: keyof NewtonCgOptions, allowZero: boolean, integer: boolean): void => {
    const v = options[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || Number.isNaN(v) || (allowZero ? v < 0 : v <= 0) || (integer && !Number.isInteger(v)))
      throw new RangeError(`newtonCgSolve: options.${name} must be ${integer ? 'an integer' : 'a number'} ${allowZero ? '>= 0' : '> 0'}, got ${String(v)}`);
  };
  positive('tolerance', true, false);
  positive('maxIterations', true, true);
  positive('radius', false, false);
  positive('maxRadius', false, false);
  positive('maxCgSteps', false, true);
  if (f.diagonal !== undefined && typeof f.diagonal !== 'function') throw new RangeError('newtonCgSolve: f.diagonal must be a function when given');
  const tolerance = options.tolerance ?? 1e-8;
  const maxIterations = options.maxIterations ?? 200;
  const maxCg = options.maxCgSteps ?? n;
  const theta = Float64Array.from(theta0);
  // Jacobi preconditioner M (null without `diagonal`) and y = M⁻¹ r.
  const m = f.diagonal ? new Float64Array(n) : null;
  const y = new Float64Array(n);
  const updatePreconditioner = (): void => {
    if (m === null) return;
    f.diagonal!(theta, m);
    let largest = 0;
    for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(m[i]!));
    const floor = largest > 0 ? 1e-8 * largest : 1;
    for (let i = 0; i < n; i++) m[i] = Math.max(Math.abs(m[i]!), floor);
  };
  const precondition = (r: Float64Array): void => {
    if (m === null) y.set(r);
    else for (let i = 0; i < n; i++) y[i] = r[i]! / m[i]!;
  };
  const trial = new Float64Array(n);
  const g = new Float64Array(n);
  const z = new Float64Array(n);
  const r = new Float64Array(n);
  const d = new Float64Array(n);
  const Hd = new Float64Array(n);
  const p = new Float64Array(n);
  let fx = f.value(theta);
  let hvpCalls = 0;
  let iterations = 0;
  const infNorm = (x: Float64Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let radius = options.radius ?? 1;
  let maxRadius = options.maxRadius ?? 1e3;
  if (m !== null && options.radius === undefined) {
    f.gradient(theta, g);
    updatePreconditioner();
    precondition(g);
    const first = Math.sqrt(dot(g, y));
    radius = first > 0 && Number.isFinite(first) ? first : 1;
    if (options.maxRadius === undefined) maxRadius = 1e3 * Math.max(radius, 1);
  }
  for (; iterations < maxIterations; iterations++) {
    f.gradient(theta, g);
    if (infNorm(g) < tolerance) break;
    updatePreconditioner();
    // Steihaug CG on m(p) = g·p + ½ pᵀHp, ‖p‖_M ≤ Δ (M = I without a preconditioner).
    const gNorm = Math.sqrt(dot(g, g));
    const eps = Math.min(0.5, Math.sqrt(gNorm)) * gNorm;
    z.fill(0);
    r.set(g);
    precondition(r);
    for (let i = 0; i < n; i++) d[i] = -y[i]!;
    let ry = dot(r, y);
    let boundary = false;
    for (let j = 0; j < maxCg; j++) {
      f.hvp(theta, d, Hd);
      hvpCalls++;
      const dHd = dot(d, Hd);
      if (dHd <= 0) {
        // Negative curvature: as far as the region allows along d.
        const tau = toBoundary(z, d, m, radius);
        for (let i = 0; i < n; i++) z[i]! += tau * d[i]!;
        boundary = true;
        break;
      }
      const alpha = ry / dHd;
      for (let i = 0; i < n; i++) p[i] = z[i]! + alpha * d[i]!;
      if (Math.sqrt(mdot(p, m, p)) >= radius) {
        const tau = toBoundary(z, d, m, radius);
        for (let i = 0; i < n; i++) z[i]! += tau * d[i]!;
        boundary = true;
        break;
      }
      z.set(p);
      for (let i = 0; i < n; i++) r[i]! += alpha * Hd[i]!;
      if (Math.sqrt(dot(r, r)) < eps) break;
      precondition(r);
      const ryNext = dot(r, y);
      const beta = ryNext / ry;
      ry = ryNext;
      for (let i = 0; i < n; i++) d[i] = -y[i]! + beta * d[i]!;
    }
    // Predicted decrease −m(z) (one more H·v), actual decrease, and the radius.
    f.hvp(theta, z, Hd);
    hvpCalls++;
    const predicted = -(dot(g, z) + 0.5 * dot(z, Hd));
    for (let i = 0; i < n; i++) trial[i] = theta[i]! + z[i]!;
    const ft = f.value(trial);
    const rho = predicted > 0 ? (fx - ft) / predicted : -1;
    const stepNorm = Math.sqrt(mdot(z, m, z));
    if (rho < 0.25) radius = 0.25 * stepNorm;
    else if (rho > 0.75 && boundary) radius = Math.min(2 * radius, maxRadius);
    if (rho > 0.1 && Number.isFinite(ft)) {
      theta.set(trial);
      fx = ft;
    }
    if (radius < 1e-300) break;
  }
  f.gradient(theta, g);
  const gradientNorm = infNorm(g);
  return { theta, value: fx, gradientNorm, iterations, hvpCalls, converged: gradientNorm < tolerance, preconditioned: m !== null };
}
