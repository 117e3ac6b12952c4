// Type-checks TypeScript files under `strict` with the installed compiler, all in one program.
import ts from 'typescript';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SourceFile {
  /** File name inside the temporary folder, e.g. `logreg.ts`. */
  name: string;
  code: string;
}

/** For GPU modules: where `hessgen/runtime` resolves, and WebGPU's types. */
export interface GpuTypes {
  readonly runtime: string;
  readonly webgpuTypes: string;
}

/** Every diagnostic as `file:line:col: message`, or [] when the files type-check. */
export function typeCheck(files: readonly SourceFile[], gpu?: GpuTypes): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hessgen-typecheck-'));
  try {
    const paths = files.map((f) => {
      const p = join(dir, f.name);
      writeFileSync(p, f.code);
      return p;
    });
    const program = ts.createProgram(gpu ? [...paths, gpu.webgpuTypes] : paths, {
      ...(gpu ? { paths: { 'hessgen/runtime': [gpu.runtime] }, allowImportingTsExtensions: true } : {}),
      strict: true,
      // Flags that strict projects often add: generated code must pass them too.
      noUnusedLocals: true,
      noUnusedParameters: true,
      noImplicitReturns: true,
      noFallthroughCasesInSwitch: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts'],
      types: [],
      skipLibCheck: true,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (d.file === undefined || d.start === undefined) return text;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${d.file.fileName.slice(dir.length + 1)}:${line + 1}:${character + 1}: ${text}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
