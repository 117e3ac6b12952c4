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

export interface HvpObjective {
  readonly n: number;
  value(theta: Float64Array): number;
  /** Writes the gradient into `out`. */
  gradient(theta: Float64Array, out: Float64Array): void;
  /** Writes H(θ)·v into `out`. */
  hvp(theta: Float64Array, v: Float64Array, out: Float64Array): void;
}

export interface NewtonCgOptions {
  /** Stop when ‖g‖∞ is below this (default 1e-8). */
  readonly tolerance?: number;
  readonly maxIterations?: number;
  /** Initial and largest trust-region radius (defaults 1 and 1e3). */
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
  readonly converged: boolean;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** τ ≥ 0 with ‖z + τd‖ = Δ. */
function toBoundary(z: Float64Array, d: Float64Array, radius: number): number {
  const a = dot(d, d);
  const b = 2 * dot(z, d);
  const c = dot(z, z) - radius * radius;
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
  const tolerance = options.tolerance ?? 1e-8;
  const maxIterations = options.maxIterations ?? 200;
  const maxRadius = options.maxRadius ?? 1e3;
  const maxCg = options.maxCgSteps ?? n;
  let radius = options.radius ?? 1;
  const theta = Float64Array.from(theta0);
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
  for (; iterations < maxIterations; iterations++) {
    f.gradient(theta, g);
    if (infNorm(g) < tolerance) break;
    // Steihaug CG on m(p) = g·p + ½ pᵀHp, ‖p‖ ≤ Δ.
    const gNorm = Math.sqrt(dot(g, g));
    const eps = Math.min(0.5, Math.sqrt(gNorm)) * gNorm;
    z.fill(0);
    r.set(g);
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    let rr = dot(r, r);
    let boundary = false;
    for (let j = 0; j < maxCg; j++) {
      f.hvp(theta, d, Hd);
      hvpCalls++;
      const dHd = dot(d, Hd);
      if (dHd <= 0) {
        // Negative curvature: as far as the region allows along d.
        const tau = toBoundary(z, d, radius);
        for (let i = 0; i < n; i++) z[i]! += tau * d[i]!;
        boundary = true;
        break;
      }
      const alpha = rr / dHd;
      for (let i = 0; i < n; i++) p[i] = z[i]! + alpha * d[i]!;
      if (Math.sqrt(dot(p, p)) >= radius) {
        const tau = toBoundary(z, d, radius);
        for (let i = 0; i < n; i++) z[i]! += tau * d[i]!;
        boundary = true;
        break;
      }
      z.set(p);
      for (let i = 0; i < n; i++) r[i]! += alpha * Hd[i]!;
      const rrNext = dot(r, r);
      if (Math.sqrt(rrNext) < eps) break;
      const beta = rrNext / rr;
      rr = rrNext;
      for (let i = 0; i < n; i++) d[i] = -r[i]! + beta * d[i]!;
    }
    // Predicted decrease −m(z) (one more H·v), actual decrease, and the radius.
    f.hvp(theta, z, Hd);
    hvpCalls++;
    const predicted = -(dot(g, z) + 0.5 * dot(z, Hd));
    for (let i = 0; i < n; i++) trial[i] = theta[i]! + z[i]!;
    const ft = f.value(trial);
    const rho = predicted > 0 ? (fx - ft) / predicted : -1;
    const stepNorm = Math.sqrt(dot(z, z));
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
  return { theta, value: fx, gradientNorm, iterations, hvpCalls, converged: gradientNorm < tolerance };
}
