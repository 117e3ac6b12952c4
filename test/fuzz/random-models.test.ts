// Differential fuzzing: random valid models from ./generate.ts, each compiled, loaded and checked
// by ./check.ts (value against the math.js oracle, gradient and Hessian against finite
// differences, exact symmetry, a second size of the run-time dims through the same module, the
// growth of the Hessian's work in N), then every generated module type-checked in one tsc
// program under the flags the README promises (strict, noUnusedLocals, noUnusedParameters,
// noImplicitReturns, exactOptionalPropertyTypes).
//
//   HESSGEN_FUZZ_COUNT=2000 npx vitest run test/fuzz     many more models (default 150)
//   HESSGEN_FUZZ_SEED=7                                   another stream of models (default 1)
//   HESSGEN_FUZZ_ONLY=123                                 only model #123 of the stream
//   HESSGEN_FUZZ_PRINT=1                                  print every model's source
//   HESSGEN_FUZZ_N=13,37                                  sizes of the run-time dims at the two points
//                                                         (default: drawn per model in 2..5)
import { describe, expect, it } from 'vitest';
import { typeCheck, type SourceFile } from '../helpers/typecheck.ts';
import { checkModel } from './check.ts';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return v;
}

const COUNT = envInt('HESSGEN_FUZZ_COUNT', 150);
const SEED = envInt('HESSGEN_FUZZ_SEED', 1);
const only = process.env.HESSGEN_FUZZ_ONLY;
const PRINT = process.env.HESSGEN_FUZZ_PRINT === '1';
const sizes = parseSizes(process.env.HESSGEN_FUZZ_N);
const indices = only !== undefined && only !== '' ? [envInt('HESSGEN_FUZZ_ONLY', 0)] : Array.from({ length: COUNT }, (_, i) => i);

function parseSizes(raw: string | undefined): [number, number] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const parts = raw.split(',').map(Number);
  if (parts.length !== 2 || !parts.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`HESSGEN_FUZZ_N must be two positive integers like 13,37, got ${JSON.stringify(raw)}`);
  return [parts[0]!, parts[1]!];
}

describe(`random models (seed ${SEED})`, () => {
  const files: SourceFile[] = [];
  for (const index of indices) {
    // Generous limits: a loaded 2-core machine ran one model past 60 s and the type check past
    // 600 s (modules now carry the dense kernels, shard entries and Gauss-Newton); a hang still fails.
    it(`model #${index}`, { timeout: 240_000 }, async () => {
      await checkModel(SEED, index, {
        sizes,
        onModel: PRINT ? (m) => console.log(`--- model #${index} ---\n${m.source}`) : undefined,
        onCode: (name, code) => files.push({ name, code }),
      });
    });
  }
  // Runs after the models (vitest runs a file's tests in order): every module that compiled.
  it('every generated module type-checks under the promised flags', { timeout: 1_500_000 }, () => {
    expect(files.length).toBeGreaterThan(0);
    expect(typeCheck(files)).toEqual([]);
  });
});
