// docs/modules.md is tested as written: every ```ts block type-checks (strict, with the stricter
// flags generated code promises) against modules freshly generated from examples/*.hess and the
// runtime; the CPU blocks also run; the error messages the page lists are the ones the generated
// CPU module throws.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { loadTs } from '../helpers/load.ts';
import { typeCheck, type SourceFile } from '../helpers/typecheck.ts';

const markdown = readFileSync(join(repoRoot, 'docs', 'modules.md'), 'utf8');

/** The bodies of the fenced blocks whose info string is `info`, with their first line. */
function fenced(info: string): { line: number; code: string }[] {
  const lines = markdown.split('\n');
  const out: { line: number; code: string }[] = [];
  for (let k = 0; k < lines.length; k++) {
    const m = /^```(.*)$/.exec(lines[k]!);
    if (!m) continue;
    let end = k + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    if (m[1]!.trim() === info) out.push({ line: k + 1, code: lines.slice(k + 1, end).join('\n') });
    k = end;
  }
  return out;
}

const snippets = fenced('ts');
const isGpu = (code: string): boolean => /\.gpu\.ts'|requestDevice/.test(code);

// Every example model, compiled now (not the committed generated/ folder, which may lag).
const generated: SourceFile[] = readdirSync(join(repoRoot, 'examples'))
  .filter((f) => f.endsWith('.hess'))
  .flatMap((f) => {
    const r = compile(readFileSync(join(repoRoot, 'examples', f), 'utf8'), `examples/${f}`, { targets: ['ts', 'wgsl'] });
    if (!r.ok) throw new Error(`examples/${f} does not compile`);
    return r.outputs.filter((o) => o.kind === 'module').map((o) => ({ name: o.fileName, code: o.code }));
  });

const asLocal = (code: string): string => code.replace(/'\.\/generated\//g, "'./");

describe('docs/modules.md', () => {
  it('has TypeScript examples for both modules and the runtime', () => {
    expect(snippets.filter((s) => isGpu(s.code)).length).toBeGreaterThanOrEqual(2);
    expect(snippets.filter((s) => !isGpu(s.code)).length).toBeGreaterThanOrEqual(5);
  });

  it('every example type-checks under strict with the generated modules', () => {
    const files: SourceFile[] = [
      ...generated,
      { name: 'console.d.ts', code: 'declare const console: { log(...args: unknown[]): void };\n' },
      ...snippets.map((s) => ({ name: `snippet_line${s.line}.ts`, code: asLocal(s.code) })),
    ];
    const errors = typeCheck(files, {
      runtime: join(repoRoot, 'runtime', 'index.ts'),
      webgpuTypes: join(repoRoot, 'node_modules', '@webgpu', 'types', 'dist', 'index.d.ts'),
    });
    expect(errors).toEqual([]);
  }, 120_000);

  describe('the CPU examples run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hessgen-docs-'));
    for (const g of generated) writeFileSync(join(dir, g.name), g.code);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    for (const s of snippets.filter((x) => !isGpu(x.code))) {
      it(`line ${s.line}`, async () => {
        const bundle = await build({
          stdin: { contents: asLocal(s.code), resolveDir: dir, loader: 'ts', sourcefile: `modules.md:${s.line}.ts` },
          alias: { 'hessgen/runtime': join(repoRoot, 'runtime', 'index.ts') },
          bundle: true,
          write: false,
          format: 'esm',
          platform: 'node',
          logLevel: 'silent',
        });
        const printed: unknown[][] = [];
        const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args));
        try {
          await import(/* @vite-ignore */ `data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0]!.text).toString('base64')}`);
        } finally {
          spy.mockRestore();
        }
        expect(printed.length).toBeGreaterThan(0);
        const last = printed[printed.length - 1]!;
        // What the comments of two examples promise.
        if (s.code.includes('// 0 0 802')) expect(last.map((v) => Math.abs(Number(v)))).toEqual([0, 0, 802]);
        if (s.code.includes('hvp(theta, data, v)')) expect(last[0]).toBeLessThan(1e-12);
        if (s.code.includes('newtonCgSolve(')) {
          expect(last[0]).toBe(true);
          expect(last[3]).toBeLessThan(1e-12);
        }
        if (s.code.includes('newtonSolve(')) {
          expect(last[0]).toBe('converged');
          expect(last[2]).toBeLessThan(1e-20);
        }
      });
    }
  });

  it('lists exactly the errors the CPU module throws', async () => {
    const errorsBlock = fenced('text').find((b) => b.code.startsWith('theta has length'));
    expect(errorsBlock).toBeDefined();
    const listed = errorsBlock!.code.split('\n');
    const logreg = generated.find((g) => g.name === 'logreg.ts')!;
    const m = (await loadTs(logreg.code, 'logreg.ts')) as unknown as Record<string, (...args: unknown[]) => unknown>;
    const X = [0.5, -1, 2, 1, 0, -0.5];
    const theta = new Float64Array(4);
    const thrown = (call: () => unknown): string => {
      try {
        call();
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        return (e as Error).message;
      }
      return 'no error';
    };
    const shared = new Float64Array(32); // an out whose memory overlaps data.X
    const got = [
      thrown(() => m.value!([0, 0, 0], { X, t: [1, 0] })),
      thrown(() => m.value!(undefined, { X, t: [1, 0] })),
      thrown(() => m.value!(theta, undefined)),
      thrown(() => m.value!(theta, { X: 3, t: [1, 0] })),
      thrown(() => m.value!(theta, { X: [...X, 1], t: [1, 0] })),
      thrown(() => m.value!(theta, { X: [], t: [] })),
      thrown(() => m.value!(theta, { X, t: [1, 0, 1] })),
      thrown(() => m.gradient!(theta, { X, t: [1, 0] }, new Float64Array(3))),
      thrown(() => m.hessian!(theta, { X, t: [1, 0] }, new Array(16).fill(0))),
      thrown(() => m.gradient!(theta, { X, t: [1, 0] }, theta)),
      thrown(() => m.hessian!(theta, { X: shared.subarray(10, 16), t: [1, 0] }, shared.subarray(0, 16))),
      thrown(() => m.hvp!(theta, { X, t: [1, 0] }, [1, 2, 3])),
      thrown(() => m.hvp!(theta, { X, t: [1, 0] }, shared.subarray(0, 4), shared.subarray(2, 6))),
    ];
    expect(got).toEqual(listed);
    // And the one Error the page quotes outside the list.
    const ev = (m.createEvaluator!() as { value(t: unknown, d: unknown): number; dispose(): void });
    ev.dispose();
    const quoted = /`(hessgen logreg: this evaluator was disposed)`/.exec(markdown)?.[1];
    expect(quoted).toBeDefined();
    expect(() => ev.value(theta, { X, t: [1, 0] })).toThrow(new Error(quoted));
  });
});
