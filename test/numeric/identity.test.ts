// Kernel identity (issue 8): kernels are told apart by id and by the blocks they write, never by
// their display names. Parameter names joined with underscores meet (grad_a_once is a's second
// part and a_once's gradient; hess_x_y_z is (x, y_z) and (x_y, z)); every generated name must
// still be unique, the modules must type-check, and no kernel may be lost on either target.
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { generateModel } from '../fuzz/generate.ts';
import { compileModel } from '../helpers/load.ts';
import { fdGradient, fdHessian, relativeError } from '../helpers/numeric.ts';
import { typeCheck } from '../helpers/typecheck.ts';
import { CLASH_MODEL, ONCE_MODEL } from './clashing-models.ts';

/** Models whose parameter names meet in kernel names, in several shapes. */
const CLASHING: { name: string; source: string }[] = [
  { name: 'once', source: ONCE_MODEL },
  { name: 'clash', source: CLASH_MODEL },
  {
    name: 'clash_tensors',
    source: `dim N
data X[N, 3]
data y[N]
param a[3, 2]
param a_once[2]
param a_a[2]
param once
minimize sum((tanh(X * a) * a_once + a_a' * a_once - y) .^ 2) / N + once^2 * sum(a_a .^ 2) + sum(a .^ 2)
`,
  },
  {
    name: 'grad_names',
    source: `dim N
data t[N]
param grad_a[2]
param a
param a_0
minimize sum((a * t - grad_a[1]) .^ 2) + a_0 * grad_a[2] + a^2 * a_0^2
`,
  },
];

/** Names a generated TypeScript module declares: top-level functions, constants, types, State fields. */
function tsNames(code: string): string[] {
  const top = [...code.matchAll(/^(?:export )?(?:function|const|let|interface|type|class) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!);
  const state = /^interface State \{\n([\s\S]*?)\n\}/m.exec(code);
  const fields = state ? [...state[1]!.matchAll(/^ {2}(\w+):/gm)].map((m) => `State.${m[1]}`) : [];
  return [...top, ...fields];
}

/** Names of a GPU module: shader keys, and per shader its functions, bindings and uniform fields. */
function gpuNames(code: string): { shaders: string[]; perShader: Map<string, string[]>; units: string[] } {
  const wgslBlock = /export const wgsl[^=]*= \{\n([\s\S]*?)\n\};/.exec(code)![1]!;
  const shaders: string[] = [];
  const perShader = new Map<string, string[]>();
  for (const m of wgslBlock.matchAll(/^ {2}"(\w+)": `([\s\S]*?)`,$/gm)) {
    shaders.push(m[1]!);
    const text = m[2]!;
    const params = /struct Params \{\n([\s\S]*?)\n\}/.exec(text);
    perShader.set(m[1]!, [
      ...[...text.matchAll(/^fn (\w+)/gm)].map((x) => `fn ${x[1]}`),
      ...[...text.matchAll(/^(?:@group\(0\) @binding\(\d+\) )?var(?:<[^>]*>)? (\w+)/gm)].map((x) => `var ${x[1]}`),
      ...(params ? [...params[1]!.matchAll(/^ {2}(\w+):/gm)].map((x) => `P.${x[1]}`) : []),
    ]);
  }
  const unitsBlock = /^ {2}units: \[\n([\s\S]*?)\n {2}\],/m.exec(code)![1]!;
  const units = [...unitsBlock.matchAll(/\{ name: "(\w+)"/g)].map((m) => m[1]!);
  return { shaders, perShader, units };
}

const duplicates = (xs: readonly string[]): string[] => [...new Set(xs.filter((x, k) => xs.indexOf(x) !== k))];

function compileBoth(source: string, path: string): { ts: string; gpu: string } {
  const r = compile(source, path, { targets: ['ts', 'wgsl'] });
  if (!r.ok) throw new Error(`${path}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return { ts: r.outputs.find((o) => o.target === 'ts')!.code, gpu: r.outputs.find((o) => o.target === 'wgsl')!.code };
}

function expectUniqueNames(source: string, label: string): void {
  const { ts, gpu } = compileBoth(source, `${label}.hess`);
  expect(duplicates(tsNames(ts)), `${label}: TypeScript`).toEqual([]);
  const g = gpuNames(gpu);
  expect(duplicates(g.shaders), `${label}: shader names`).toEqual([]);
  expect(duplicates(g.units), `${label}: plan units`).toEqual([]);
  expect(g.units.sort()).toEqual([...g.shaders].sort());
  for (const [name, names] of g.perShader) expect(duplicates(names), `${label}: shader ${name}`).toEqual([]);
  // Every step names a unit of the plan.
  const steps = [...gpu.matchAll(/\{ unit: "(\w+)" \}/g)].map((m) => m[1]!);
  for (const s of steps) expect(g.units, `${label}: step ${s}`).toContain(s);
}

describe('generated names are unique', () => {
  for (const m of CLASHING) it(`in ${m.name}`, () => expectUniqueNames(m.source, m.name));

  it('in 60 random models with underscore-rich parameter names (both targets)', () => {
    let clashing = 0;
    for (let i = 0; i < 60; i++) {
      const model = generateModel(`hessgen-identity:${i}`);
      if (/^param (a_once|y_z|x_y|a_a|grad_a)\b/m.test(model.source)) clashing++;
      expectUniqueNames(model.source, `random${i}`);
    }
    // (The generator draws the clashing names for a fifth of its models; these five are among them.)
    expect(clashing).toBeGreaterThanOrEqual(5);
  }, 300_000);

  it('and the modules type-check under strict', () => {
    const files = CLASHING.map((m) => ({ name: `${m.name}.ts`, code: compileBoth(m.source, `${m.name}.hess`).ts }));
    expect(typeCheck(files)).toEqual([]);
  }, 60_000);
});

describe('no kernel is lost where names meet', () => {
  it('a and a_once: gradient and Hessian in closed form and against finite differences', async () => {
    const { module } = await compileModel(ONCE_MODEL, 'once.hess');
    const x = [0.3, -1.2, 0.7, 1.5];
    const theta = [0.9, -0.6];
    const [a, b] = theta as [number, number];
    const sx = x.reduce((s, v) => s + v, 0);
    const sxx = x.reduce((s, v) => s + v * v, 0);
    // f = Σ(a x − 1)² + a² + b² + b Σx
    const gradient = [2 * a * sxx - 2 * sx + 2 * a, 2 * b + sx];
    const hessian = [2 * sxx + 2, 0, 0, 2];
    const data = { x };
    expect(relativeError(module.gradient(theta, data), gradient)).toBeLessThan(1e-14);
    expect(relativeError(module.hessian(theta, data), hessian)).toBeLessThan(1e-14);
    const f = (t: ArrayLike<number>) => module.value(t, data);
    expect(relativeError(module.gradient(theta, data), fdGradient(f, theta))).toBeLessThan(1e-8);
    expect(relativeError(module.hessian(theta, data), fdHessian((t) => module.gradient(t, data), theta))).toBeLessThan(1e-8);
  });

  it('x, y_z, x_y, z: both (x, y_z) and (x_y, z) blocks are there', async () => {
    const { module } = await compileModel(CLASH_MODEL, 'clash.hess');
    const theta = [0.4, -0.7, 1.1, 0.3];
    const H = module.hessian(theta);
    expect(relativeError(H, fdHessian((t) => module.gradient(t), theta))).toBeLessThan(1e-8);
    // ∂²f/∂x∂y_z = 4 x y_z; ∂²f/∂x_y∂z = 4 x_y z
    expect(H[0 * 4 + 1]).toBeCloseTo(4 * 0.4 * -0.7, 12);
    expect(H[2 * 4 + 3]).toBeCloseTo(4 * 1.1 * 0.3, 12);
  });
});
