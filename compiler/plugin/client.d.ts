// hessgen/client: types for `import … from './net.hess?gpu'` through the plugin. TypeScript
// cannot map a query to a file, so the GPU module gets these general types (its Data is any
// record of inputs); plain `./net.hess` imports get the model's own types from net.d.hess.ts
// (the plugin writes it; see docs/build.md). Use it with
//   /// <reference types="hessgen/client" />     or     "types": ["hessgen/client"]
// Copied to dist/client.d.ts by scripts/build-dist.mjs.

declare module '*.hess?gpu' {
  import type { EngineOptions, Kernels as BatchKernels, ModelInfo } from 'hessgen/runtime';
  /** The model's run-time inputs by name: a number for a scalar, a row-major array otherwise. */
  export type Data = Readonly<Record<string, number | ArrayLike<number>>>;
  export type Kernels = BatchKernels<Data>;
  export const model: ModelInfo;
  /** The WGSL source of every kernel, by name. */
  export const wgsl: Readonly<Record<string, string>>;
  /** Compiles the kernels on a device (pipelines are cached per device). */
  export function createKernels(device: GPUDevice, options?: EngineOptions): Promise<Kernels>;
}
