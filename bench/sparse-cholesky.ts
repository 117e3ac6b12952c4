// `node bin/run-ts.mjs bench/sparse-cholesky.ts`: the sparse Cholesky of hessgen/runtime
// (runtime/sparse-cholesky.ts) side by side with the dense one of runtime/newton.ts, and its
// orderings against each other, in one process. Each timing: a warm-up of at least 1 s, then the
// median of the samples, on this process's CPU time (bench/support.ts; a shared machine does not
// inflate it by descheduling), with ratios against the peer of the same run.
//   1. The chained Rosenbrock Hessian (tridiagonal, shifted to be positive definite) at n = 2000:
//      factor + solve, sparse (minimum degree) against dense choleskyShifted + choleskySolve.
//   2. A 60 × 60 five-point mesh (n = 3600) numbered at random: the analysis, nnz(L) and the
//      factorization with each ordering ('natural' is the random numbering itself).
// Options: --seconds=S per timing (default 2).
import { loadavg } from 'node:os';
import { analyzeCholesky, SparseCholesky } from '../runtime/sparse-cholesky.ts';
import { choleskyShifted, choleskySolve } from '../runtime/newton.ts';
import type { OrderingMethod, SymmetricPattern } from '../runtime/sparse-ordering.ts';
import { timeCalls } from './support.ts';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};
const seconds = arg('seconds', 2);
const timing = { warmup: 3, minReps: 5, maxReps: 1000, targetMs: 1000 * seconds, budgetMs: 4000 * seconds + 4000, clock: 'cpu' as const };

function patternFromEdges(n: number, edges: readonly (readonly [number, number])[]): SymmetricPattern {
  const rows: number[][] = Array.from({ length: n }, (_, i) => [i]);
  for (const [i, j] of edges) {
    rows[i]!.push(j);
    rows[j]!.push(i);
  }
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    cols.push(...rows[i]!.sort((a, b) => a - b));
    rowPtr[i + 1] = cols.length;
  }
  return { n, rowPtr, colIdx: Int32Array.from(cols) };
}

/** Diagonally dominant values (positive definite) for a pattern. */
function dominantValues(p: SymmetricPattern): Float64Array {
  const v = new Float64Array(p.colIdx.length);
  for (let i = 0; i < p.n; i++)
    for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) v[k] = p.colIdx[k] === i ? p.rowPtr[i + 1]! - p.rowPtr[i]! + 1 : -1;
  return v;
}

console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; times are medians of CPU time per call`);

// ---- 1. sparse against dense, tridiagonal n = 2000 ---------------------------------------------
{
  const n = 2000;
  const p = patternFromEdges(n, Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as const));
  const values = dominantValues(p);
  const dense = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) dense[i * n + p.colIdx[k]!] = values[k]!;
  const L = new Float64Array(n * n);
  const b = new Float64Array(n).fill(1);
  const chol = new SparseCholesky(analyzeCholesky(p));
  const sparseT = timeCalls(() => {
    chol.factor(values, 0);
    chol.solve(b.fill(1));
  }, timing);
  const denseT = timeCalls(() => {
    choleskyShifted(dense, 0, L, n);
    choleskySolve(L, b.fill(1), n);
  }, timing);
  console.log(`\n## Tridiagonal, n = ${n}: factor + solve`);
  console.log(`sparse (minimum degree, nnz(L) = ${chol.analysis.nnzL})  ${sparseT.medianMs.toFixed(3)} ms`);
  console.log(`dense  (n² = ${n * n} entries)              ${denseT.medianMs.toFixed(1)} ms`);
  console.log(`dense / sparse = ${(denseT.medianMs / sparseT.medianMs).toFixed(0)}×`);
}

// ---- 2. orderings on a randomly numbered mesh ---------------------------------------------------
{
  const k = 60;
  const n = k * k;
  let seed = 42;
  const rand = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const q = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [q[i], q[j]] = [q[j]!, q[i]!];
  }
  const edges: [number, number][] = [];
  for (let r = 0; r < k; r++)
    for (let c = 0; c < k; c++) {
      if (c + 1 < k) edges.push([q[r * k + c]!, q[r * k + c + 1]!]);
      if (r + 1 < k) edges.push([q[r * k + c]!, q[(r + 1) * k + c]!]);
    }
  const p = patternFromEdges(n, edges);
  const values = dominantValues(p);
  console.log(`\n## ${k} × ${k} mesh, n = ${n}, random numbering: analysis and factorization per ordering`);
  const rows: { o: OrderingMethod; nnzL: number; analyze: number; factor: number }[] = [];
  for (const o of ['minimum-degree', 'rcm', 'natural'] as const) {
    const an = timeCalls(() => void analyzeCholesky(p, { ordering: o }), { ...timing, targetMs: 500 * seconds });
    const chol = new SparseCholesky(analyzeCholesky(p, { ordering: o }));
    const f = timeCalls(() => void chol.factor(values, 0), timing);
    rows.push({ o, nnzL: chol.analysis.nnzL, analyze: an.medianMs, factor: f.medianMs });
  }
  const md = rows[0]!;
  for (const r of rows)
    console.log(
      `${r.o.padEnd(15)} nnz(L) = ${String(r.nnzL).padStart(8)}  analysis ${r.analyze.toFixed(2).padStart(8)} ms  factor ${r.factor.toFixed(2).padStart(8)} ms  (factor ${(r.factor / md.factor).toFixed(1)}× minimum degree's)`,
    );
}
