// The reference fixtures in test/fixtures (see its README): every NAME.hess with its NAME.json.
// Paths are relative to this file, so the suite runs from a clone in any folder.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixturesDir = resolve(repoRoot, 'test', 'fixtures');
export const modelsDir = resolve(repoRoot, 'test', 'models');

export interface FixtureJson {
  n: number;
  params: { name: string; shape: number[] }[];
  theta: number[];
  data: Record<string, number | number[]>;
  value: number;
  gradient: number[];
  hessian: number[];
}

export interface Fixture {
  name: string;
  /** Path of the .hess file relative to the repository root (as a user would pass it). */
  path: string;
  source: string;
  json: FixtureJson;
}

export function loadFixtures(): Fixture[] {
  if (!existsSync(fixturesDir)) throw new Error(`fixtures folder not found at ${fixturesDir}`);
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.hess'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.hess'.length);
      const json = JSON.parse(readFileSync(join(fixturesDir, `${name}.json`), 'utf8')) as FixtureJson;
      return { name, path: `test/fixtures/${f}`, source: readFileSync(join(fixturesDir, f), 'utf8'), json };
    });
}
