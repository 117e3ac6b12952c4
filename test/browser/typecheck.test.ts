// The playground's sources type-check under `strict` with the DOM library (playground/tsconfig.json;
// the project's own tsconfig has no DOM and does not include playground/). The compiler and the
// runtime they import are checked with DOM too, as a browser application would check them.
import { join, relative } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/fixtures.ts';

it('playground/src type-checks (strict, DOM, WebGPU types)', () => {
  const configPath = join(repoRoot, 'playground', 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  expect(config).toBeDefined();
  expect(config!.errors).toEqual([]);
  const program = ts.createProgram(config!.fileNames, config!.options);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .map((d) => {
      const where = d.file ? `${relative(repoRoot, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '(global)';
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]}`;
    });
  expect(errors).toEqual([]);
}, 120_000);
