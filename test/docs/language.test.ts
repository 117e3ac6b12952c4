// docs/language.md is tested as written: every ```hess block compiles, every ```hess error block
// fails with exactly the diagnostics shown in the ```text block after it (as the CLI prints
// them), and the numeric claims the page makes (precedence, broadcasting, reductions, the
// derivative conventions and the edges of each function's domain) hold in the generated code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { formatDiagnostic } from '../../compiler/1-parse/diagnostics.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { compileModel, type DataArg, type GeneratedModule } from '../helpers/load.ts';

interface Block {
  readonly line: number; // 1-based line of the opening fence
  readonly kind: 'ok' | 'error';
  readonly source: string;
  /** For error blocks: the text block that follows. */
  readonly expected: string | null;
}

/** The ```hess blocks of a markdown text, each error block with the ```text block after it. */
function hessBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let k = 0;
  const fenced = (from: number): { info: string; body: string; next: number } | null => {
    const m = /^```(.*)$/.exec(lines[from] ?? '');
    if (!m) return null;
    let end = from + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    if (end >= lines.length) throw new Error(`docs/language.md:${from + 1}: unclosed code fence`);
    return { info: m[1]!.trim(), body: lines.slice(from + 1, end).join('\n'), next: end + 1 };
  };
  while (k < lines.length) {
    const f = fenced(k);
    if (!f) {
      k++;
      continue;
    }
    if (f.info.startsWith('hess')) {
      if (f.info !== 'hess' && f.info !== 'hess error') throw new Error(`docs/language.md:${k + 1}: unknown block kind \`${f.info}\``);
      let expected: string | null = null;
      let next = f.next;
      if (f.info === 'hess error') {
        while (next < lines.length && lines[next]!.trim() === '') next++;
        const t = fenced(next);
        if (!t || t.info !== 'text') throw new Error(`docs/language.md:${k + 1}: an error block must be followed by a \`\`\`text block with the errors`);
        expected = t.body;
        next = t.next;
      }
      blocks.push({ line: k + 1, kind: f.info === 'hess' ? 'ok' : 'error', source: `${f.body}\n`, expected });
      k = next;
    } else {
      k = f.next;
    }
  }
  return blocks;
}

const markdown = readFileSync(join(repoRoot, 'docs', 'language.md'), 'utf8');
const blocks = hessBlocks(markdown);

describe('docs/language.md examples', () => {
  it('has examples of both kinds', () => {
    expect(blocks.filter((b) => b.kind === 'ok').length).toBeGreaterThanOrEqual(15);
    expect(blocks.filter((b) => b.kind === 'error').length).toBeGreaterThanOrEqual(20);
  });

  for (const b of blocks) {
    const first = b.source.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '';
    if (b.kind === 'ok') {
      it(`line ${b.line} compiles: ${first}`, () => {
        const r = compile(b.source, 'model.hess', { targets: ['ts', 'wgsl'] });
        const errors = r.ok ? [] : r.diagnostics.map(formatDiagnostic);
        expect(errors).toEqual([]);
      });
    } else {
      it(`line ${b.line} is rejected with the errors shown: ${first}`, () => {
        const r = compile(b.source, 'model.hess');
        expect(r.ok).toBe(false);
        const printed = r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n\n');
        expect(printed).toBe(b.expected);
      });
    }
  }
});

// ---- the numeric claims of the page --------------------------------------------------------

async function load(source: string): Promise<GeneratedModule> {
  return (await compileModel(source, 'claim.hess')).module;
}

/** Value, gradient and Hessian of a one-parameter model at x. */
async function scalar(source: string, x: number, data?: DataArg): Promise<[number, number, number]> {
  const r = (await load(source)).evaluate([x], data);
  return [r.value, r.gradient[0]!, r.hessian[0]!];
}

/** Relative distance of a from b; 0 when both are the same number (zero included). */
const rel = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

describe('docs/language.md claims', () => {
  it('precedence: -x ^ 2, x ^ 2 ^ 3, 2 ^ -1, and * with .* grouped from the left', async () => {
    expect((await scalar('param x\nminimize -x ^ 2\n', 3))[0]).toBe(-9);
    expect((await scalar('param x\nminimize x ^ 2 ^ 3\n', 2))[0]).toBe(256);
    expect((await scalar('param x\nminimize 2 ^ -1 * x\n', 1))[0]).toBe(0.5);
    expect((await scalar('param x\nminimize -2 .^ 2 * x\n', 1))[0]).toBe(-4);
    // A * B .* C is (A * B) .* C: with A = B = [[1, 2], [3, 4]] and C = A, Σ (A·A) .* A.
    const m = await load('param A[2, 2]\nminimize sum(A * A .* A)\n');
    const A = [1, 2, 3, 4];
    const AA = [1 * 1 + 2 * 3, 1 * 2 + 2 * 4, 3 * 1 + 4 * 3, 3 * 2 + 4 * 4];
    expect(m.value(A)).toBe(AA.reduce((s, v, i) => s + v * A[i]!, 0));
  });

  it('broadcasting: [3, 1] .* [4] is the outer product; [4] repeats over rows', async () => {
    const m = await load('param u[3, 1]\nparam v[4]\nminimize sum((u .* v) .* (u .* v))\n');
    const u = [1, 2, 3];
    const v = [5, 6, 7, 8];
    let want = 0;
    for (const a of u) for (const b of v) want += (a * b) ** 2;
    expect(m.value([...u, ...v])).toBe(want);
    const r = await load('dim N\ndata X[N, 2]\nparam b[2]\nminimize sum((X + b) .^ 2)\n');
    expect(r.value([10, 20], { X: [1, 2, 3, 4] })).toBe(11 ** 2 + 22 ** 2 + 13 ** 2 + 24 ** 2);
  });

  it('products: vector * vector is the dot product, x\' * x too; transposing a vector changes nothing', async () => {
    const m = await load("param x[3]\nminimize x * x + x' * x + sum(x' - x)\n");
    expect(m.value([1, 2, 3])).toBe(28);
    const v = await load('param y[2]\nparam A[2, 3]\nminimize sum(y * A)\n');
    // y * A = [y1·A11 + y2·A21, …]: the vector-matrix product.
    expect(v.value([1, 10, 1, 2, 3, 4, 5, 6])).toBe(1 * (1 + 2 + 3) + 10 * (4 + 5 + 6));
  });

  it('reductions: axis 1 collapses the rows, axis 2 each row; mean divides by the run-time N', async () => {
    const m = await load('param A[2, 3]\ndata w[3]\nminimize sum(sum(A, 1) .* w) + 100 * sum(sum(A, 2) .* sum(A, 2))\n');
    const A = [1, 2, 3, 4, 5, 6];
    // sum(A, 1) = [5, 7, 9] (down the columns), sum(A, 2) = [6, 15] (along each row).
    expect(m.value(A, { w: [1, 10, 100] })).toBe(5 + 70 + 900 + 100 * (36 + 225));
    const mean = await load('dim N\ndata y[N]\nparam x\nminimize mean(y) * x + mean(y .* y)\n');
    expect(mean.value([1], { y: [1, 2, 3, 6] })).toBe(3 + 50 / 4);
    const lse = await load('param z[2]\nminimize logsumexp(z)\n');
    expect(lse.value([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 12);
    const g = lse.gradient([0, Math.log(3)]); // the softmax: [1/4, 3/4]
    expect(g[0]).toBeCloseTo(0.25, 15);
    expect(g[1]).toBeCloseTo(0.75, 15);
  });

  it('indexing: one-based, inclusive ranges, end, open ranges, columns as vectors', async () => {
    const m = await load('param x[5]\nparam A[3, 4]\nminimize x[end - 1] + 10 * sum(x[2:3]) + 100 * sum(x[4:]) + 1000 * sum(x[:1]) + 1e4 * sum(A[:, 2]) + 1e6 * A[3, 4]\n');
    const x = [1, 2, 3, 4, 5];
    const A = Array.from({ length: 12 }, (_, k) => k + 1); // A[i, j] = 4(i−1) + j
    expect(m.value([...x, ...A])).toBe(4 + 10 * 5 + 100 * 9 + 1000 * 1 + 1e4 * (2 + 6 + 10) + 1e6 * 12);
  });

  it('constant exponents: a whole power of a negative base, exact derivatives at 0', async () => {
    expect(await scalar('param x\nminimize x .^ 3\n', -2)).toEqual([-8, 12, -12]);
    expect(await scalar('param x\nminimize x .^ 2\n', 0)).toEqual([0, 0, 2]);
  });

  it('variable exponents: exp(b log a), NaN for a negative base', async () => {
    const [v] = await scalar('param x\ndata p\nminimize x .^ p\n', -2, { p: 2 });
    expect(v).toBeNaN();
    const [w, g] = await scalar('param p\ndata a\nminimize a .^ p\n', 1.5, { a: 2 });
    expect(w).toBeCloseTo(2 ** 1.5, 14);
    expect(g).toBeCloseTo(2 ** 1.5 * Math.log(2), 14);
  });

  it('abs and relu: derivative 0 at the kink, no curvature anywhere', async () => {
    expect(await scalar('param x\nminimize abs(x)\n', 0)).toEqual([0, 0, 0]);
    expect(await scalar('param x\nminimize relu(x)\n', 0)).toEqual([0, 0, 0]);
    expect(await scalar('param x\nminimize abs(x)\n', -2)).toEqual([2, -1, 0]);
    expect(await scalar('param x\nminimize relu(x)\n', 2)).toEqual([2, 1, 0]);
    expect(await scalar('param x\nminimize relu(x)\n', -2)).toEqual([0, 0, 0]);
  });

  it('the edges of the domains: sqrt and log at 0, log of a negative number, exp overflow', async () => {
    expect(await scalar('param x\nminimize sqrt(x)\n', 0)).toEqual([0, Infinity, -Infinity]);
    expect((await scalar('param x\nminimize log(x)\n', 0))[0]).toBe(-Infinity);
    expect((await scalar('param x\nminimize log(x)\n', -1))[0]).toBeNaN();
    expect((await scalar('param x\nminimize log1p(x)\n', -1))[0]).toBe(-Infinity);
    expect((await scalar('param x\nminimize exp(x)\n', 709))[0]).toBeLessThan(Infinity);
    expect((await scalar('param x\nminimize exp(x)\n', 710))[0]).toBe(Infinity);
    const [v, g] = await scalar('param x\nminimize sqrt(x + 1e-12)\n', 0);
    expect(Number.isFinite(v) && Number.isFinite(g)).toBe(true);
  });

  it('sigmoid, softplus and tanh never overflow, and their derivatives are accurate on both tails', async () => {
    for (const x of [-800, -40, -30, 30, 40, 800]) {
      const t = Math.exp(-Math.abs(x));
      const s = x >= 0 ? 1 / (1 + t) : t / (1 + t);
      const ds = t / (1 + t) ** 2; // σ′, symmetric
      const [sv, sg] = await scalar('param x\nminimize sigmoid(x)\n', x);
      expect(sv).toBe(s);
      if (ds > 0) expect(rel(sg, ds)).toBeLessThan(1e-12);
      else expect(sg).toBe(0);
      const [pv, pg, ph] = await scalar('param x\nminimize softplus(x)\n', x);
      expect(Number.isFinite(pv) && Number.isFinite(pg) && Number.isFinite(ph)).toBe(true);
      expect(rel(pv, Math.max(x, 0) + Math.log1p(t))).toBeLessThan(1e-15);
      expect(rel(pg, s)).toBeLessThan(1e-15);
      if (ds > 0) expect(rel(ph, ds)).toBeLessThan(1e-12);
    }
    for (const x of [-20, 20]) {
      const e = Math.exp(-2 * Math.abs(x));
      const [, g] = await scalar('param x\nminimize tanh(x)\n', x);
      expect(rel(g, (4 * e) / (1 + e) ** 2)).toBeLessThan(1e-12);
    }
  });
});
