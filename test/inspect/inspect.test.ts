// `inspect` on hand-checked models: block classes, entry counts, closed forms, names, the
// cost model (against brute-force counting on hand-built loop programs), determinism, the
// JSON form, and the spy plot (well-formed, standalone, small and fast at n = 10⁶).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReport, inspect, reportJson, spySvg, type InspectReport } from '../../compiler/inspect/index.ts';
import { programCost } from '../../compiler/inspect/cost.ts';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { lowerModel } from '../../compiler/index.ts';
import type { Program, Stmt, Expr } from '../../compiler/5-lower/loops.ts';
import { repoRoot } from '../helpers/fixtures.ts';

function report(source: string, path = 'm.hess', dims?: Record<string, number>): InspectReport {
  const r = inspect(source, path, dims ? { dims } : {});
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n'));
  return r.report;
}
const block = (r: InspectReport, row: string, col: string) => {
  const b = r.blocks.find((x) => x.row === row && x.col === col);
  if (!b) throw new Error(`no block H[${row},${col}]`);
  return b;
};
const example = (name: string) => readFileSync(join(repoRoot, 'examples', `${name}.hess`), 'utf8');

describe('block classes and counts (hand-checked)', () => {
  it('Rosenbrock: one tridiagonal block, 3n − 2 entries', () => {
    const r = report(example('rosenbrock'), 'examples/rosenbrock.hess');
    expect(r.params).toEqual([{ name: 'x', shape: [10], offset: 0, size: 10 }]);
    const b = block(r, 'x', 'x');
    expect(b).toMatchObject({ kind: 'banded', bandwidth: 1, entries: 28, size: 100, exact: true });
    expect(r.entries).toBe(28);
    expect(b.formula).toContain('H[x,x][i,j] =');
    expect(b.formula).toContain('− 400·x[i−1]·δ(j,i−1)');
    expect(b.formula).toContain('− 400·x[i]·δ(j,i+1)');
    expect(b.formula).toContain('200·δ(i,j)·[i ≥ 2]');
    expect(r.where).toEqual([{ name: 't1', formula: 't1[i] = x[i+1] − x[i]²' }]);
  });

  it('a dense linear layer under squared error: δ-pattern blocks', () => {
    const r = report(`dim N
data X[N, 3]
data Y[N, 2]
param W[3, 2]
param b[2]
pred = X * W + b
minimize sum((pred - Y) .^ 2)
`);
    expect(r.params.map((p) => [p.name, p.offset, p.size])).toEqual([['W', 0, 6], ['b', 6, 2]]);
    // ∂²/∂W[i,j]∂W[k,l] = 2 Σ_n X[n,i] X[n,k] δ(j,l): 3·3·2 entries of 36.
    expect(block(r, 'W', 'W')).toMatchObject({ kind: 'delta', deltas: ['δ(j,l)'], entries: 18, size: 36 });
    expect(block(r, 'W', 'W').formula).toBe('H[W,W][i,j,k,l] = 2·Σ_n X[n,i]·X[n,k]·δ(j,l)');
    expect(block(r, 'W', 'b')).toMatchObject({ kind: 'delta', deltas: ['δ(j,k)'], entries: 6, size: 12 });
    expect(block(r, 'b', 'b')).toMatchObject({ kind: 'diagonal', bandwidth: 0, entries: 2 });
    expect(r.entries).toBe(18 + 2 * 6 + 2);
  });

  it('separate terms: zero cross blocks, diagonal blocks', () => {
    const r = report('param a[3]\nparam b[2]\nminimize sum(exp(a)) + sum(b .^ 2)\n');
    expect(block(r, 'a', 'b')).toMatchObject({ kind: 'zero', entries: 0, formula: 'H[a,b][i,j] = 0' });
    expect(block(r, 'a', 'a')).toMatchObject({ kind: 'diagonal', entries: 3 });
    expect(block(r, 'a', 'a').formula).toBe('H[a,a][i,j] = exp(a[i])·δ(i,j)');
    expect(block(r, 'b', 'b')).toMatchObject({ kind: 'diagonal', entries: 2 });
  });

  it('softmax cross-entropy: a dense block', () => {
    const r = report(`dim N
data X[N, 3]
data Y[N, 4]
param W[3, 4]
Z = X * W
minimize sum(logsumexp(Z, 2)) - sum(Y .* Z)
`);
    expect(block(r, 'W', 'W')).toMatchObject({ kind: 'dense', entries: 144, size: 144 });
    // Named after the model's definition Z.
    expect(r.where.some((w) => w.formula.includes('Z[n,'))).toBe(true);
  });

  it('a sub-block without δ: sparse', () => {
    // Single entries lie on a band (here (1,1), (1,2), (2,1), (2,2): bandwidth 1) ...
    const r = report('param x[4]\nminimize (x[1] + x[2]) ^ 2 + x[1] * x[2]\n');
    expect(block(r, 'x', 'x')).toMatchObject({ kind: 'banded', bandwidth: 1, entries: 4, size: 16 });
    // ... a sum over a range couples every pair in it.
    const s = report('param x[5]\nminimize sum(x[2:4]) ^ 2 + sum(x)\n');
    expect(block(s, 'x', 'x')).toMatchObject({ kind: 'sparse', entries: 9, size: 25, deltas: [] });
  });

  it('formulas are named after the model\'s definitions', () => {
    const r = report(example('logreg'), 'examples/logreg.hess');
    expect(block(r, 'w', 'w').formula).toContain('σ′(z[n])');
    expect(block(r, 'b', 'b').formula).toBe('H[b,b] = 1/N·Σ_n σ′(z[n])');
  });
});

describe('cost model', () => {
  const forLoop = (v: string, from: Expr, to: Expr, body: Stmt[]): Stmt => ({ k: 'for', kind: 'parallel', v, from, to, body });
  const num = (v: number): Expr => ({ k: 'num', v });
  const int = (name: string): Expr => ({ k: 'int', name });
  const load = (buf: string): Expr => ({ k: 'load', buf, index: num(0) });
  const prod: Expr = { k: 'bin', op: '*', a: load('a'), b: load('b') };
  const program = (body: Stmt[]): Program =>
    ({
      n: 1,
      buffers: [{ name: 't', kind: 'temp', shape: [3, 'N'] }],
      kernels: [{ id: 0, name: 'k', comment: '', writes: [], body }],
      entries: { value: { pre: [0], clear: [], stream: [], post: [] }, gradient: { pre: [], clear: [], stream: [], post: [] }, hessian: { pre: [], clear: [], stream: [], post: [] }, evaluate: { pre: [], clear: [], stream: [], post: [] } },
      batch: null,
      notes: [],
    }) as unknown as Program;
  /** Brute force: run the loops, counting. */
  function brute(n: number, inner: (i: number) => [number, number]): number {
    let c = 0;
    for (let i = 0; i < n; i++) {
      const [lo, hi] = inner(i);
      for (let j = lo; j < hi; j++) c += 1;
    }
    return c;
  }

  it('a triangular nest (j from i to n), short and long, counts like running it', () => {
    for (const n of [7, 5000, 123457]) {
      const body = [forLoop('i', num(0), { k: 'dim', name: 'N' }, [forLoop('j', int('i'), { k: 'dim', name: 'N' }, [{ k: 'store', buf: 'h', index: num(0), value: prod, accumulate: true }])])];
      const c = programCost(program(body), new Map([['N', n]]));
      // One multiply-add per store (the product's addition fuses).
      const expected = n <= 5000 ? brute(n, (i) => [i, n]) : (n * (n + 1)) / 2;
      expect(c.entries[0]).toEqual({ entry: 'value', madds: expected, calls: 0 });
      expect(c.workspaceBytes).toBe(8 * 3 * n);
    }
  });

  it('bounds with max (j from max(0, i − 3) to i + 1), reductions, calls', () => {
    const n = 40000;
    const body = [
      forLoop('i', num(0), { k: 'dim', name: 'N' }, [
        { k: 'let', name: 'lo', int: true, value: { k: 'max', a: num(0), b: { k: 'bin', op: '-', a: int('i'), b: num(3) } } },
        forLoop('j', int('lo'), { k: 'bin', op: '+', a: int('i'), b: num(1) }, [
          { k: 'reduce', name: 's', v: 'r', from: num(0), to: num(5), value: { k: 'call', fn: { name: 'exp', p: 0 }, arg: prod } },
        ]),
      ]),
    ];
    const c = programCost(program(body), new Map([['N', n]]));
    const cells = brute(n, (i) => [Math.max(0, i - 3), i + 1]);
    // Per reduce step: exp(a·b) is one multiply and one call, then one addition.
    expect(c.entries[0]).toEqual({ entry: 'value', madds: cells * 5 * 2, calls: cells * 5 });
  });

  it('closed-form sums agree with summing every iteration, on every example, fixture and test model', () => {
    const dirs = ['examples', 'test/fixtures', 'test/models'];
    let checked = 0;
    for (const d of dirs)
      for (const f of readdirSync(join(repoRoot, d)).filter((x) => x.endsWith('.hess'))) {
        const { model } = parseModel(readFileSync(join(repoRoot, d, f), 'utf8'), f);
        const program = lowerModel(model!);
        const dims = new Map(model!.symbolicDims.map((x) => [x, 777] as [string, number]));
        expect(programCost(program, dims).entries, `${d}/${f}`).toEqual(programCost(program, dims, { exactTrips: 1e9 }).entries);
        checked++;
      }
    expect(checked).toBeGreaterThan(60);
  }, 120_000);

  it('streamed models: the work is affine in the number of chunks', () => {
    const src = example('mlp_classifier');
    const chunk = report(src, 'm.hess').cost.chunk!.size;
    const at = (k: number) => report(src, 'm.hess', { N: k * chunk }).cost.entries;
    const [c1, c2, c3] = [at(1), at(2), at(3)];
    for (let e = 0; e < c1.length; e++) {
      expect(c3[e]!.madds - c2[e]!.madds).toBe(c2[e]!.madds - c1[e]!.madds);
      expect(c2[e]!.madds).toBeGreaterThan(c1[e]!.madds);
    }
    expect(c1.map((e) => e.entry)).toEqual(expect.arrayContaining(['value', 'gradient', 'hessian', 'evaluate']));
  }, 60_000);

  it('dims: given ones are used and marked, others default to 1000', () => {
    const r = report(example('logreg'), 'l.hess', { N: 64 });
    expect(r.cost.dims).toEqual([{ name: 'N', value: 64, given: true }]);
    expect(report(example('logreg'), 'l.hess').cost.dims).toEqual([{ name: 'N', value: 1000, given: false }]);
    expect(r.cost.outputBytes).toMatchObject({ value: 8, gradient: 8 * r.n, hessian: 8 * r.n * r.n });
    // H·v and diag(H), where the compiler provides them, are n values each.
    for (const extra of ['hvp', 'hessianDiagonal'] as const) {
      const has = r.cost.entries.some((e) => e.entry === extra);
      expect(r.cost.outputBytes[extra]).toBe(has ? 8 * r.n : undefined);
    }
  });
});

/** Tags balance, attributes are quoted, nothing is fetched from elsewhere. */
function checkSvg(svg: string): void {
  expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).not.toMatch(/href|url\(|@import|<image|<script|<foreignObject/i);
  const stack: string[] = [];
  const body = svg.replace(/^<\?xml[^>]*\?>/, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z0-9:-]+="[^"<>]*")*)\s*(\/?)>/g)) {
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else if (!m[4]) stack.push(m[2]!);
  }
  expect(stack).toEqual([]);
  // Every '<' starts a tag that matched above.
  const tags = [...body.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z0-9:-]+="[^"<>]*")*)\s*(\/?)>/g)].length;
  expect((body.match(/</g) ?? []).length).toBe(tags);
}

describe('spy plot', () => {
  it('n = 4: one cell per entry, labelled', () => {
    const r = report(example('seed_linear'), 'examples/seed_linear.hess');
    const svg = spySvg(r);
    checkSvg(svg);
    expect(svg).toContain('>W</text>');
    expect(svg).toContain('one cell per entry');
  });

  it('parameter boundaries and names on both axes', () => {
    const svg = spySvg(report(example('mlp_classifier'), 'examples/mlp_classifier.hess'));
    checkSvg(svg);
    // Each name on both axes of the plot and of the block map beside it.
    for (const p of ['W1', 'b1', 'W2', 'b2']) expect(svg.split(`>${p}</text>`).length - 1).toBe(4);
    expect(svg.match(/stroke="#d62728"/g)?.length).toBe(6); // 3 boundaries, both directions
    expect(svg).toContain('<title>H[W1,b1]: dense, 256 of 256</title>');
    const net = spySvg(report(readFileSync(join(repoRoot, 'test/models/net_mlp3_tanh_softplus.hess'), 'utf8')));
    checkSvg(net);
    expect(net).toContain('<title>H[W3,W3]: delta, 18 of 36</title>');
    expect(net).toContain('<title>H[b3,b3]: diagonal, 2 of 4</title>');
  });

  it('n = 10⁶ (extended Rosenbrock): fast, small, aggregated, exact counts', () => {
    const src = 'dim n = 1000000\nparam x[n]\nminimize sum(100 * (x[2:end] - x[1:end-1] .^ 2) .^ 2 + (1 - x[1:end-1]) .^ 2)\n';
    const t0 = performance.now();
    const r = report(src, 'big.hess');
    const svg = spySvg(r);
    const ms = performance.now() - t0;
    expect(r.n).toBe(1e6);
    expect(block(r, 'x', 'x')).toMatchObject({ kind: 'banded', bandwidth: 1, entries: 3 * 1e6 - 2, exact: true });
    checkSvg(svg);
    expect(svg).toContain('one cell per 1,954 × 1,954 entries');
    expect(svg.length).toBeLessThan(200_000);
    expect(ms).toBeLessThan(20_000);
    expect(formatReport(r)).toContain('Hessian 7.28 TiB');
  }, 60_000);
});

describe('determinism and forms', () => {
  it('the same source gives the same report, text, JSON and SVG', () => {
    const src = example('mlp_classifier');
    const a = report(src, 'examples/mlp_classifier.hess');
    const b = report(src, 'examples/mlp_classifier.hess');
    expect(reportJson(a)).toBe(reportJson(b));
    expect(formatReport(a)).toBe(formatReport(b));
    expect(spySvg(a)).toBe(spySvg(b));
  }, 60_000);

  it('the JSON parses back to the report', () => {
    const r = report(example('rosenbrock'), 'examples/rosenbrock.hess');
    expect(JSON.parse(reportJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
  });

  it('a broken model gives located diagnostics, not a throw', () => {
    const r = inspect('param x[3]\nminimize sum(y)\n', 'bad.hess');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics[0]).toMatchObject({ line: 2, column: 14 });
  });

  it('the text report lists layout, blocks, closed forms and cost', () => {
    const text = formatReport(report(example('mlp_classifier'), 'examples/mlp_classifier.hess'));
    for (const s of ['θ layout', 'H[W1,b1]', 'dense', 'H[W1,W1][i,j,k,l] =', 'Cost at run-time dims: N = 1,000 (default)', 'multiply-adds', 'workspace:']) expect(text).toContain(s);
  });
});
