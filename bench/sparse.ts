// `node bin/run-ts.mjs bench/sparse.ts`: the sparse Hessian of the extended Rosenbrock function at
// n = 10⁶ (a model with `dim n = 1000000` fixed), hessianSparse(θ, {}, values) against a
// hand-written JavaScript loop that fills the same CSR values (the tridiagonal pattern, row by
// row), side by side: interleaved calls after a 1 s warm-up, medians of each, in several rounds
// (the machine is shared: each round's ratio is printed, and their median). Also: the time to
// build model.hessianPattern (once, on first use), the size of the generated file, and the memory
// the pattern and the values take (against the n² floats of the dense Hessian).
//
// Options: --n=N (default 1000000), --seconds=S of timed interleaved calls in all (default 10),
// --rounds=R (default 5).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/index.ts';
import { loadGenerated, median } from './support.ts';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};
const n = arg('n', 1_000_000);
const seconds = arg('seconds', 10);
const rounds = arg('rounds', 5);

const source = `# Extended Rosenbrock, n = ${n}.
dim n = ${n}
param x[n]
minimize sum(100 * (x[2:end] - x[1:n-1] .^ 2) .^ 2 + (1 - x[1:n-1]) .^ 2)
`;

interface Pattern {
  readonly n: number;
  readonly nnz: number;
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
}
interface SparseModule {
  readonly model: { readonly n: number; readonly hessianPattern: Pattern };
  hessianSparse(theta: ArrayLike<number>, data?: Record<string, never>, values?: Float64Array): Float64Array;
}

/** The CSR values of the Rosenbrock Hessian, by hand: row r holds (r, r−1), (r, r), (r, r+1) where they exist. */
function handWritten(x: Float64Array, rowPtr: Int32Array, out: Float64Array): void {
  const m = x.length;
  let k = 0;
  for (let r = 0; r < m; r++) {
    const xr = x[r]!;
    if (r > 0) out[k++] = -400 * x[r - 1]!;
    let d = 0;
    if (r > 0) d += 200;
    if (r < m - 1) d += 1200 * xr * xr - 400 * x[r + 1]! + 2;
    out[k++] = d;
    if (r < m - 1) out[k++] = -400 * xr;
  }
  if (k !== rowPtr[m]) throw new Error('hand-written loop: wrong entry count');
}

const t0 = performance.now();
const r = compile(source, `rosenbrock_${n}.hess`, { targets: ['ts'] });
if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
const code = r.outputs[0]!.code;
const compileMs = performance.now() - t0;
const dir = mkdtempSync(join(tmpdir(), 'hessgen-sparse-'));
try {
  const mod = (await loadGenerated(code, dir, `rosenbrock_${n}`)) as unknown as SparseModule;
  const heap0 = process.memoryUsage();
  const t1 = performance.now();
  const P = mod.model.hessianPattern;
  const patternMs = performance.now() - t1;
  if (P.nnz !== 3 * n - 2) throw new Error(`pattern: ${P.nnz} entries, expected ${3 * n - 2}`);

  const x = Float64Array.from({ length: n }, (_, i) => 1 + 0.5 * Math.sin(i));
  const ours = new Float64Array(P.nnz);
  const hand = new Float64Array(P.nnz);
  mod.hessianSparse(x, {}, ours);
  handWritten(x, P.rowPtr, hand);
  let worst = 0;
  for (let k = 0; k < P.nnz; k++) worst = Math.max(worst, Math.abs(ours[k]! - hand[k]!) / Math.max(1, Math.abs(hand[k]!)));
  if (worst > 1e-12) throw new Error(`hessianSparse and the hand-written loop differ: ${worst}`);

  // Warm-up (1 s of both), then interleaved timed rounds.
  const warm = performance.now();
  while (performance.now() - warm < 1000) {
    mod.hessianSparse(x, {}, ours);
    handWritten(x, P.rowPtr, hand);
  }
  const tOurs: number[] = [];
  const tHand: number[] = [];
  const ratios: number[] = [];
  const heapBefore = process.memoryUsage().heapUsed;
  for (let round = 0; round < rounds; round++) {
    const rOurs: number[] = [];
    const rHand: number[] = [];
    const start = performance.now();
    while (performance.now() - start < (seconds * 1000) / rounds || rOurs.length < 10) {
      let a = performance.now();
      mod.hessianSparse(x, {}, ours);
      rOurs.push(performance.now() - a);
      a = performance.now();
      handWritten(x, P.rowPtr, hand);
      rHand.push(performance.now() - a);
    }
    ratios.push(median(rOurs) / median(rHand));
    tOurs.push(...rOurs);
    tHand.push(...rHand);
  }
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  const mOurs = median(tOurs);
  const mHand = median(tHand);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const patternBytes = P.rowPtr.byteLength + P.colIdx.byteLength;
  console.log(`Extended Rosenbrock, n = ${n} (node ${process.version}): nnz = ${P.nnz} (3n − 2)`);
  console.log(`compile ${compileMs.toFixed(0)} ms, generated file ${(code.length / 1024).toFixed(1)} KiB; hessianPattern built on first use in ${patternMs.toFixed(0)} ms`);
  console.log(`hessianSparse(θ, {}, values)   median ${mOurs.toFixed(2)} ms  (${tOurs.length} calls)`);
  console.log(`hand-written CSR loop          median ${mHand.toFixed(2)} ms  (${tHand.length} calls)`);
  console.log(`ratio ${(mOurs / mHand).toFixed(2)}x over all calls; per round ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}x; target: within 2x); values agree to ${worst.toExponential(1)}`);
  console.log(`memory: pattern ${mb(patternBytes)} (rowPtr + colIdx), values ${mb(P.nnz * 8)}; dense Hessian would be ${mb(8 * n * n)}; ` +
    `array buffers after the pattern ${mb(process.memoryUsage().arrayBuffers - heap0.arrayBuffers)}; heap growth over the timed calls ${mb(Math.max(0, heapGrowth))}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
