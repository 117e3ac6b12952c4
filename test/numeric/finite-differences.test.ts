// Every model of test/models: the value against the math.js oracle, the gradient against finite
// differences of `value`, the Hessian against finite differences of `gradient`; the Hessian
// exactly symmetric and finite, and structurally zero cross blocks exactly zero.
import { describe, it, expect, beforeAll } from 'vitest';
import { compileModel } from '../helpers/load.ts';
import type { CompiledModel } from '../helpers/load.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';
import { oracleValue, parseDecls, paramLayout } from '../oracle/mathjs.ts';
import { assertClose, assertScalarClose, asymmetry, fdGradient, fdHessian, firstNonFinite } from '../helpers/numeric.ts';

const ORACLE_TOL = 1e-12;
const FD_TOL = 1e-8;
/** Size of every symbolic dim in the large-batch check: not a multiple of any small power of 2. */
const LARGE_N = 1037;

const cases = loadModelCases();

// Every construct of docs/language.md, as a pattern that some model must contain (comments stripped).
const COVERAGE: [string, RegExp][] = [
  ...['exp', 'log', 'log1p', 'expm1', 'sqrt', 'square', 'cube', 'abs', 'sin', 'cos', 'tan', 'atan', 'sinh', 'cosh', 'tanh', 'sigmoid', 'softplus', 'relu', 'transpose', 'dot'].map(
    (f): [string, RegExp] => [`${f}()`, new RegExp(`\\b${f}\\(`)],
  ),
  ['sum(A)', /\bsum\([^,()]*(\([^()]*\)[^,()]*)*\)/],
  ['sum(A, 1)', /\bsum\(.*, 1\)/],
  ['sum(A, 2)', /\bsum\(.*, 2\)/],
  ['mean(A)', /\bmean\([^,()]*\)/],
  ['mean(A, 1)', /\bmean\(.*, 1\)/],
  ['mean(A, 2)', /\bmean\(.*, 2\)/],
  ['logsumexp(A)', /\blogsumexp\([^,()]*\)/],
  ['logsumexp(A, 1)', /\blogsumexp\(.*, 1\)/],
  ['logsumexp(A, 2)', /\blogsumexp\(.*, 2\)/],
  ['.*', /\.\*/],
  ['./', /\.\//],
  ['.^', /\.\^/],
  ['^', /[^.]\^/],
  ['/', /[^.]\//],
  ['postfix transpose', /[\w)\]]'/],
  ['unary minus', /(^|[=(,+*/^-]\s*|minimize\s+)-[\w(]/m],
  ['unary plus', /(^|[=(,+*/^-]\s*|minimize\s+)\+[\w(]/m],
  ['A[i, j]', /\w\[\d+, \d+\]/],
  ['A[i, :]', /\w\[\d+, :\]/],
  ['A[:, j]', /\w\[:, \d+\]/],
  ['a:b range', /\[\d+:\d+/],
  ['end', /\bend\b/],
  ['end - k', /end-\d|end - \d/],
  ['const', /^const /m],
  ['fixed dim', /^dim \w+ = \d+/m],
  ['symbolic dim', /^dim \w+$/m],
  ['function definition', /^\w+\(\w+(, \w+)*\) =/m],
  ['scalar data', /^data \w+$/m],
  ['scalar param', /^param \w+$/m],
  ['pi', /\bpi\b/],
  ['e', /\be\b/],
];

describe('the model collection', () => {
  it('has at least 40 models, each with a test point', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('covers every operator, function, reduction and indexing form of docs/language.md', () => {
    const sources = cases.map((c) => c.source.replace(/#.*$/gm, ''));
    const missing = COVERAGE.filter(([, re]) => !sources.some((s) => re.test(s))).map(([what]) => what);
    expect(missing).toEqual([]);
  });
});

for (const c of cases) {
  describe(c.name, () => {
    let compiled: CompiledModel;
    const point = makePoint(c.name, c.source, c.spec);
    const decls = parseDecls(c.source);
    const symbolic = decls.dims.filter((d) => d.size === null).map((d) => d.name);
    const tol = FD_TOL * (c.spec.fdTolerance ?? 1);

    beforeAll(async () => {
      compiled = await compileModel(c.source, c.path);
    });

    it('value matches the math.js oracle', () => {
      const { value } = compiled.module;
      const ours = value(point.theta, point.data);
      const ref = oracleValue(c.source, point.theta, point.data);
      expect(Number.isFinite(ref)).toBe(true);
      assertScalarClose(`value at θ = [${Array.from(point.theta).join(', ')}]`, ours, ref, ORACLE_TOL);
      if (symbolic.length > 0) {
        // Another point with other sizes for the symbolic dims, through the same module.
        const other = makePoint(c.name, c.source, c.spec, 1, Object.fromEntries(symbolic.map((d) => [d, (c.spec.dims?.[d] ?? 5) + 2])));
        assertScalarClose('value at a second point with larger dims', value(other.theta, other.data), oracleValue(c.source, other.theta, other.data), ORACLE_TOL);
      }
    });

    it('gradient matches central finite differences of value', () => {
      const { value, gradient } = compiled.module;
      const g = gradient(point.theta, point.data);
      expect(g.length).toBe(point.theta.length);
      expect(firstNonFinite(g)).toBe(-1);
      const fd = fdGradient((t) => value(t, point.data), point.theta);
      assertClose('gradient vs finite differences', g, fd, tol);
    });

    it('Hessian matches central finite differences of gradient, exactly symmetric, finite', () => {
      const { gradient, hessian } = compiled.module;
      const n = point.theta.length;
      const H = hessian(point.theta, point.data);
      expect(H.length).toBe(n * n);
      expect(firstNonFinite(H)).toBe(-1);
      expect(asymmetry(H, n)).toBeNull();
      const fd = fdHessian((t) => gradient(t, point.data), point.theta);
      assertClose('Hessian vs finite differences', H, fd, tol, n);
    });

    if (symbolic.length > 0) {
      it('at a large batch: value matches the oracle, derivatives match finite differences', () => {
        const { value, gradient, hessian } = compiled.module;
        const dims = Object.fromEntries(symbolic.map((d) => [d, c.spec.largeDims?.[d] ?? LARGE_N]));
        const big = makePoint(c.name, c.source, c.spec, 2, dims);
        assertScalarClose(`value at ${JSON.stringify(dims)}`, value(big.theta, big.data), oracleValue(c.source, big.theta, big.data), ORACLE_TOL);
        assertClose('gradient vs finite differences', gradient(big.theta, big.data), fdGradient((t) => value(t, big.data), big.theta), tol);
        const H = hessian(big.theta, big.data);
        expect(asymmetry(H, big.theta.length)).toBeNull();
        assertClose('Hessian vs finite differences', H, fdHessian((t) => gradient(t, big.data), big.theta), tol, big.theta.length);
      });
    }

    if (c.spec.zeroCross !== undefined) {
      it('cross blocks of non-interacting parameters are exactly zero', () => {
        const { params, n } = paramLayout(decls);
        const H = compiled.module.hessian(point.theta, point.data);
        for (const [a, b] of c.spec.zeroCross!) {
          const pa = params.find((p) => p.name === a)!;
          const pb = params.find((p) => p.name === b)!;
          for (let i = pa.offset; i < pa.offset + pa.size; i++) {
            for (let j = pb.offset; j < pb.offset + pb.size; j++) {
              expect(Math.abs(H[i * n + j]!), `H[${a}, ${b}] at (${i}, ${j})`).toBe(0);
              expect(Math.abs(H[j * n + i]!), `H[${b}, ${a}] at (${j}, ${i})`).toBe(0);
            }
          }
        }
      });
    }
  });
}
