// Regression tests for the defects of issue 11, one block per defect: numbers before dotted
// operators, Object.prototype names in every role, Hessian cost that must stay linear in the
// batch, removable singularities of powers, the tails of σ and softplus, unused parameters of
// empty kernels, and the run-time checks (no rows, uninferable dims, missing data, aliased out).
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { compileModel, compileToTs } from '../helpers/load.ts';
import { loadCounting } from '../helpers/count.ts';
import { assertClose, assertScalarClose, fdGradient, fdHessian } from '../helpers/numeric.ts';
import { typeCheck } from '../helpers/typecheck.ts';

const th = (xs: readonly number[]) => Float64Array.from(xs);

describe('1. a number directly before a dotted operator', () => {
  // Each source against the same model written with spaces; `2..*x` is `2. .* x`.
  const cases: [string, string][] = [
    ['sum(1e0.*x)', 'sum(1 .* x)'],
    ['sum(1.e3.*x)', 'sum(1000 .* x)'],
    ['sum(2..*x)', 'sum(2 .* x)'],
    ['sum(1.5.^x)', 'sum(1.5 .^ x)'],
    ['sum(2.^x)', 'sum(2 .^ x)'],
    ['sum(1.5./x)', 'sum(1.5 ./ x)'],
    ['sum(2E-1./x + 3e+0.*x)', 'sum(0.2 ./ x + 3 .* x)'],
  ];
  for (const [glued, spaced] of cases) {
    it(glued, async () => {
      const a = (await compileModel(`param x[3]\nminimize ${glued}\n`, 'glued.hess')).module;
      const b = (await compileModel(`param x[3]\nminimize ${spaced}\n`, 'spaced.hess')).module;
      const t = th([0.5, 1.25, 2]);
      expect(a.value(t)).toBe(b.value(t));
      expect(Array.from(a.gradient(t))).toEqual(Array.from(b.gradient(t)));
      expect(Array.from(a.hessian(t))).toEqual(Array.from(b.hessian(t)));
    });
  }
  it('a decimal point after the exponent is still an error', () => {
    const r = compile('param x\nminimize 1e3.5 * x\n', 'bad.hess');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics[0]!.message).toMatch(/exponent must be a whole number/);
  });
});

describe('2. Object.prototype names in every role', () => {
  const TRICKY = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
  const ROLES = ['DIM', 'FIX', 'CONST', 'DATA', 'PARAM', 'FUN', 'ARG', 'DEF'] as const;
  const PLAIN: Record<(typeof ROLES)[number], string> = { DIM: 'N', FIX: 'K', CONST: 'c', DATA: 'z', PARAM: 'w', FUN: 'f', ARG: 'a', DEF: 'h' };
  const TEMPLATE = `dim DIM
dim FIX = 2
const CONST = 0.5
data DATA[DIM, FIX]
param PARAM[FIX]
FUN(ARG) = tanh(ARG) .* CONST + ARG .^ 2
DEF = DATA * PARAM
minimize sum(FUN(DEF)) + sum(logsumexp(DATA, 2)) * sum(PARAM) / DIM + FIX * sum(PARAM .^ 2)
`;
  const source = (role: (typeof ROLES)[number] | null, name: string): string =>
    ROLES.reduce((s, r) => s.replace(new RegExp(`\\b${r}\\b`, 'g'), r === role ? name : PLAIN[r]), TEMPLATE);
  const theta = th([0.3, -0.8]);
  const z = Float64Array.from({ length: 6 }, (_, i) => Math.sin(i + 1));

  it('give the results of plain names, and every module type-checks', async () => {
    const plain = (await compileModel(source(null, ''), 'plain.hess')).module;
    const ref = plain.evaluate(theta, { z });
    assertClose('plain gradient vs finite differences', ref.gradient, fdGradient((t) => plain.value(t, { z }), theta), 1e-8);
    const files = [];
    for (const name of TRICKY) {
      for (const role of ROLES) {
        const src = source(role, name);
        const label = `${role.toLowerCase()}_${name.replace(/_/g, '')}`;
        const { code, module: m } = await compileModel(src, `${label}.hess`);
        files.push({ name: `${label}.ts`, code });
        // Built with defineProperty semantics: `{ __proto__: z }` would set the prototype instead.
        const data = Object.fromEntries([[role === 'DATA' ? name : 'z', z]]) as Record<string, Float64Array>;
        const got = m.evaluate(theta, data);
        expect(got.value, `${role} = ${name}`).toBe(ref.value);
        expect(Array.from(got.gradient), `${role} = ${name}`).toEqual(Array.from(ref.gradient));
        expect(Array.from(got.hessian), `${role} = ${name}`).toEqual(Array.from(ref.hessian));
        if (role === 'DATA') {
          // Missing: reported as missing, not as Object.prototype's member.
          expect(() => m.value(theta, {})).toThrow(new RangeError(`data.${name}: expected an array of numbers ([N, 2], row-major)`));
        }
        if (role === 'PARAM') expect(m.model.params[0]!.name).toBe(name);
      }
    }
    expect(typeCheck(files)).toEqual([]);
  }, 120_000);
});

// ---- 3. cost ---------------------------------------------------------------------------------

describe('3. the Hessian costs O(N) when its symbolic form does', () => {
  const MODELS: Record<string, string> = {
    // The model: a centered term inside a batch sum.
    centered: 'dim N\ndata x[N]\nparam w\nparam b\nminimize sum(square(x * w + b - mean(x * w + b)))\n',
    variance_of_features: 'dim N\ndata X[N, 3]\nparam w[3]\nparam b\nr = X * w + b\nminimize mean(square(r - mean(r))) + 0.1 * sum(w .^ 2)\n',
    product_of_sums: 'dim N\ndata x[N]\ndata y[N]\nparam w[2]\nminimize sum(x * w[1]) * sum(tanh(y * w[2])) + square(mean(exp(x * w[2])))\n',
    nested_means: 'dim N\ndata x[N]\nparam a\nparam c\nm = mean(x * a + c)\nminimize mean(square(x * a - m)) * m + sum(softplus(x * c - m)) / N\n',
    standardized: 'dim N\ndata X[N, 2]\nparam w[2]\ns = X * w\nd = s - mean(s)\nminimize sum(d .^ 2) / N + sum(sigmoid(d)) * mean(s)\n',
  };
  const SIZES = [100, 200, 400];
  for (const [name, src] of Object.entries(MODELS)) {
    it(name, async () => {
      const code = compileToTs(src, `${name}.hess`);
      const { module: m, count, reset } = await loadCounting(code);
      const theta = Float64Array.from({ length: m.model.n }, (_, i) => 0.3 - 0.2 * i);
      const ops = SIZES.map((N) => {
        const data = Object.fromEntries(m.model.data.map((d) => [d.name, Float64Array.from({ length: N * (d.shape.length === 2 ? (d.shape[1] as number) : 1) }, (_, i) => Math.cos(0.7 * i))]));
        const H = m.hessian(theta, data);
        // Still right at this size.
        assertClose(`${name} Hessian at N = ${N}`, H, fdHessian((t) => m.gradient(t, data), theta), 1e-7, m.model.n);
        reset();
        m.hessian(theta, data);
        return count();
      });
      // Linear growth: doubling N at most doubles the work (plus a constant part); N² would quadruple it.
      for (let k = 1; k < SIZES.length; k++) expect(ops[k]! / ops[k - 1]!, `loop iterations ${ops.join(', ')} at N = ${SIZES.join(', ')}`).toBeLessThan(2.05);
      expect(ops[0]!).toBeGreaterThan(SIZES[0]!); // it does count the batch loops
    }, 60_000);
  }
});

// ---- 4. removable singularities ---------------------------------------------------------------

describe('4. powers at the edge of their domain', () => {
  it('data with zeros to a param power: ∂(aᵖ)/∂p = aᵖ log a is 0 at a = 0', async () => {
    const m = (await compileModel('dim N\ndata a[N]\ndata y[N]\nparam p\nminimize sum(square(a .^ p - y))\n', 'zero_base.hess')).module;
    const a = [0, 0.5, 2, 0, 1e-300, 3];
    const y = [0.1, 0.2, 0.3, 0.4, -0.5, 1];
    for (const p of [0.5, 1, 1.5, 2.5]) {
      // Closed forms, with aᵖ·log a and aᵖ·log² a taken as their limit 0 at a = 0.
      let f = 0;
      let g = 0;
      let h = 0;
      a.forEach((ai, i) => {
        const ap = Math.pow(ai, p);
        const l = ai === 0 ? 0 : Math.log(ai);
        f += (ap - y[i]!) ** 2;
        g += 2 * (ap - y[i]!) * ap * l;
        h += 2 * (ap * l) ** 2 + 2 * (ap - y[i]!) * ap * l * l;
      });
      const r = m.evaluate([p], { a, y });
      assertScalarClose(`value at p = ${p}`, r.value, f, 1e-14);
      assertScalarClose(`gradient at p = ${p}`, r.gradient[0]!, g, 1e-13);
      assertScalarClose(`Hessian at p = ${p}`, r.hessian[0]!, h, 1e-13);
    }
  });

  it('a constant zero base and a param base at 0 with a data exponent', async () => {
    const m = (await compileModel('param p\nminimize 0 .^ p + p ^ 2\n', 'const_zero_base.hess')).module;
    expect(m.value([1.5])).toBe(2.25);
    expect(Array.from(m.gradient([1.5]))).toEqual([3]);
    expect(Array.from(m.hessian([1.5]))).toEqual([2]);
    // x^k with a constant k ≥ 2 at x = 0: derivatives p·x^(p−1), p(p−1)·x^(p−2) are finite.
    const q = (await compileModel('param x[2]\nminimize sum(x .^ 2.5) + sum(sqrt(x .^ 2 + 1))\n', 'pow_at_zero.hess')).module;
    const H = q.hessian([0, 1]);
    expect(Array.from(H).every(Number.isFinite)).toBe(true);
    assertClose('gradient at 0', q.gradient([0, 1]), [0, 2.5 + 1 / Math.SQRT2], 1e-15);
  });

  it('log1p near −1 and sqrt near 0 keep their derivatives accurate', async () => {
    const m = (await compileModel('param x[2]\nminimize 2 * log1p(x[1]) + sqrt(x[2])\n', 'edges.hess')).module;
    const t = [-1 + 1e-10, 1e-20];
    const g = m.gradient(t);
    assertScalarClose('d log1p', g[0]!, 2 / (1 + t[0]!), 1e-12);
    assertScalarClose('d sqrt', g[1]!, 0.5 / Math.sqrt(t[1]!), 1e-14);
    const H = m.hessian(t);
    assertScalarClose('d² log1p', H[0]!, -2 / (1 + t[0]!) ** 2, 1e-12);
    assertScalarClose('d² sqrt', H[3]!, -0.25 * t[1]! ** -1.5, 1e-14);
  });
});

// ---- 5. tails ----------------------------------------------------------------------------------

describe('5. σ, softplus and tanh on both tails', () => {
  // [x, σ(x), σ′(x), σ″(x), tanh′(x), tanh″(x)], each correctly rounded from 80-digit decimal
  // arithmetic on e = exp(−|x|) (Python's decimal: σ′ = e/(1 + e)², σ″ = σ′·(1 − 2σ), ...).
  const EXACT: [number, number, number, number, number, number][] = [
    [30, 0.9999999999999064, 9.357622968838423e-14, -9.357622968836672e-14, 3.502604305078608e-26, -7.005208610157216e-26],
    [-30, 9.357622968839299e-14, 9.357622968838423e-14, 9.357622968836672e-14, 3.502604305078608e-26, 7.005208610157216e-26],
    [36, 0.9999999999999998, 2.319522830243568e-16, -2.319522830243567e-16, 2.1520744640084553e-31, -4.304148928016911e-31],
    [-36, 2.3195228302435686e-16, 2.319522830243568e-16, 2.319522830243567e-16, 2.1520744640084553e-31, 4.304148928016911e-31],
    [700, 1, 9.85967654375977e-305, -9.85967654375977e-305, 0, 0],
    [-700, 9.85967654375977e-305, 9.85967654375977e-305, 9.85967654375977e-305, 0, 0],
  ];
  const x = EXACT.map((r) => r[0]);
  const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

  const check = async (fn: string, scale: number, d1: (r: (typeof EXACT)[number]) => number, d2: (r: (typeof EXACT)[number]) => number) => {
    const m = (await compileModel(`param x[6]\nminimize ${scale} * sum(${fn}(x))\n`, `${fn}_tails.hess`)).module;
    const g = m.gradient(x);
    const H = m.hessian(x);
    EXACT.forEach((r, i) => {
      expect(rel(g[i]!, scale * d1(r)), `${fn}′(${r[0]}): ${g[i]} vs ${scale * d1(r)}`).toBeLessThan(1e-14);
      expect(rel(H[i * 7]!, scale * d2(r)), `${fn}″(${r[0]}): ${H[i * 7]} vs ${scale * d2(r)}`).toBeLessThan(1e-14);
    });
  };
  it('sigmoid', () => check('sigmoid', 1e13, (r) => r[2], (r) => r[3]));
  it('softplus', () => check('softplus', 1e13, (r) => r[1], (r) => r[2]));
  it('tanh', () => check('tanh', 1e25, (r) => r[4], (r) => r[5]));
  it('all three in one map kernel (the shared-value path)', async () => {
    const m = (await compileModel('param x[6]\nminimize 1e13 * sum(sigmoid(x) + softplus(x)) + 1e25 * sum(tanh(x))\n', 'tails_mixed.hess')).module;
    const H = m.hessian(x);
    EXACT.forEach((r, i) => expect(rel(H[i * 7]!, 1e13 * (r[3] + r[2]) + 1e25 * r[5]), `at ${r[0]}`).toBeLessThan(1e-13));
  });
});

// ---- 6 and 7. generated code and run-time checks -----------------------------------------------

describe('6. generated code passes the promised type-check flags', () => {
  it('a parameter that does not affect the objective', () => {
    const code = compileToTs('param w\nparam u\nminimize w ^ 2\n', 'unused_param.hess');
    expect(typeCheck([{ name: 'unused_param.ts', code }])).toEqual([]);
  });
});

describe('7. run-time and compile-time checks', () => {
  it('no rows is a RangeError in every entry point (a mean over nothing has no value)', async () => {
    const m = (await compileModel('dim N\ndata x[N]\nparam w\nminimize mean(square(x * w - 1))\n', 'empty_batch.hess')).module;
    const msg = 'data.x has length 0, so N = 0: run-time dimensions must be at least 1';
    expect(() => m.value([1], { x: [] })).toThrow(new RangeError(msg));
    expect(() => m.gradient([1], { x: [] })).toThrow(new RangeError(msg));
    expect(() => m.hessian([1], { x: [] })).toThrow(new RangeError(msg));
    expect(() => m.evaluate([1], { x: [] })).toThrow(new RangeError(msg));
    expect(m.value([1], { x: [2] })).toBe(1);
  });

  it('a lone data Y[N, M] is a located compile error', () => {
    const r = compile('dim N\ndim M\ndata Y[N, M]\nparam w\nminimize w ^ 2 * sum(Y)\n', 'lone.hess');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect([d.file, d.line, d.column]).toEqual(['lone.hess', 3, 8]);
    expect(d.message).toMatch(/^`N` and `M` cannot be read off the data: .*declare an array with only one of them/);
    // Either fix compiles.
    expect(compile('dim N\ndim M\ndata Y[N, M]\ndata r[M]\nparam w\nminimize w ^ 2 * sum(Y)\n', 'fixed.hess').ok).toBe(true);
    expect(compile('dim N\ndata K[N, N]\nparam w\nminimize w ^ 2 * sum(K)\n', 'square.hess').ok).toBe(true);
  });

  it('data that is not an object is a RangeError', async () => {
    const m = (await compileModel('dim N\ndata x[N]\nparam w\nminimize sum(x * w)\n', 'needs_data.hess')).module;
    const call = m.value as unknown as (t: number[], d: unknown) => number;
    expect(() => call([1], undefined)).toThrow(new RangeError('data: expected an object with x, got undefined'));
    expect(() => call([1], null)).toThrow(new RangeError('data: expected an object with x, got null'));
    expect(() => call([1], 3)).toThrow(RangeError);
  });

  it('out sharing memory with θ or the data is a RangeError; a disjoint view of the same buffer is fine', async () => {
    const m = (await compileModel('dim N\ndata x[N]\nparam w[2]\nminimize sum(tanh(x * w[1] + w[2]))\n', 'alias.hess')).module;
    const buf = new Float64Array(16);
    const theta = buf.subarray(0, 2);
    theta.set([0.4, -0.3]);
    const x = buf.subarray(8, 12);
    x.set([0.1, 0.2, -0.5, 0.9]);
    const g = m.gradient(theta, { x });
    const H = m.hessian(theta, { x });
    expect(() => m.gradient(theta, { x }, theta)).toThrow(new RangeError('gradient output shares memory with theta: pass a separate array as out'));
    expect(() => m.gradient(theta, { x }, buf.subarray(1, 3))).toThrow(/gradient output shares memory with theta/);
    expect(() => m.gradient(theta, { x }, buf.subarray(7, 9))).toThrow(new RangeError('gradient output shares memory with data.x: pass a separate array as out'));
    expect(() => m.hessian(theta, { x }, buf.subarray(5, 9))).toThrow(new RangeError('hessian output shares memory with data.x: pass a separate array as out'));
    // Disjoint parts of the same buffer.
    const out = buf.subarray(2, 4);
    expect(m.gradient(theta, { x }, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(g));
    const hBuf = new Float64Array(new ArrayBuffer(8 * 8));
    expect(Array.from(m.hessian(theta, { x }, hBuf.subarray(4, 8)))).toEqual(Array.from(H));
  });
});
