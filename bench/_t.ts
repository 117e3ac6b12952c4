import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/index.ts';
import { makeData, makeTheta, MODEL_CASES } from './cases.ts';
import { loadGenerated, Rng, clockMs } from './support.ts';
const which = process.env.W ?? 'alone';
const c = MODEL_CASES[0]!;
const src = readFileSync('bench/models/mlp_3_5_1.hess', 'utf8');
const r = compile(src, 'x.hess', { targets: ['ts'] });
if (!r.ok) throw new Error();
const mod: any = await loadGenerated(r.outputs[0]!.code, mkdtempSync(join(tmpdir(), 'x')), 'm');
const rng = new Rng(1); const th = makeTheta(c, rng); const d = makeData(c, rng);
const v = new Float64Array(26).fill(0.5); const o1 = new Float64Array(26); const H = new Float64Array(676); const g = new Float64Array(26);
const t = (name: string, f: () => void, k = 200000) => { const t0 = clockMs('cpu'); for (let i = 0; i < k; i++) f(); console.log(which, name, ((clockMs('cpu') - t0) / k * 1000).toFixed(2), 'µs'); };
if (which === 'sparse') { const sv = new Float64Array(mod.model.hessianPattern.nnz); for (let i = 0; i < 50000; i++) { mod.hessianSparse(th, d, sv); mod.gradient(th, d, g); } }
if (which === 'mixed') { for (let i = 0; i < 50000; i++) { mod.hessian(th, d, H); mod.gradient(th, d, g); mod.hessianDiagonal(th, d, g); } }
for (let rep = 0; rep < 3; rep++) { t('hvp', () => mod.hvp(th, d, v, o1)); t('gradient', () => mod.gradient(th, d, g)); }
