// WebGPU for the tests: Dawn through the `webgpu` package. Validation runs on Dawn's null
// backend anywhere; execution runs on Mesa's llvmpipe (OpenGL ES, compatibility mode), which
// CI installs. Where no executing adapter exists, numeric GPU tests skip with a loud message,
// except in CI, where that is a failure.
import { build } from 'esbuild';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { deviceFromAdapter } from '../../runtime/index.ts';
import type { EngineOptions, Kernels } from '../../runtime/index.ts';
import { repoRoot } from './fixtures.ts';
import { compileTo, type DataArg, type ModelInfo } from './load.ts';

Object.assign(globalThis, globals);

export interface GpuModule {
  readonly model: ModelInfo;
  readonly wgsl: Readonly<Record<string, string>>;
  createKernels(device: GPUDevice, options?: EngineOptions): Promise<Kernels<DataArg>>;
}

/** The `wgsl` output's code (the GPU module). */
export const compileToGpu = (source: string, sourcePath: string): string => compileTo('wgsl', source, sourcePath);

/** Loads a generated .gpu.ts (its import of hessgen/runtime bound to this checkout's runtime). */
export async function loadGpu(code: string, label: string): Promise<GpuModule> {
  const r = await build({
    stdin: { contents: code, loader: 'ts', sourcefile: label, resolveDir: repoRoot },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    alias: { 'hessgen/runtime': join(repoRoot, 'runtime', 'index.ts') },
    external: ['webgpu'],
    logLevel: 'silent',
  });
  const js = r.outputFiles[0]!.text;
  return (await import(/* @vite-ignore */ `data:text/javascript;base64,${Buffer.from(js, 'utf8').toString('base64')}`)) as GpuModule;
}

let validator: Promise<{ device: GPUDevice; gpu: GPU }> | null = null;

/** A device on Dawn's null backend: validates shaders and pipelines, executes nothing. */
export function nullDevice(): Promise<{ device: GPUDevice; gpu: GPU }> {
  validator ??= (async () => {
    const gpu = create(['backend=null']);
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error("Dawn's null backend gave no adapter");
    return { device: await deviceFromAdapter(adapter), gpu };
  })();
  return validator;
}

/** WGSL compile errors of a shader (empty when it validates). */
export async function shaderErrors(device: GPUDevice, code: string): Promise<string[]> {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  return info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`);
}

let executor: Promise<{ device: GPUDevice; adapter: string } | string> | null = null;

/** A device that executes (Mesa's llvmpipe here), or why there is none. */
export function mesaDevice(): Promise<{ device: GPUDevice; adapter: string } | string> {
  executor ??= (async () => {
    process.env.EGL_PLATFORM ??= 'surfaceless';
    const gpu = create(['backend=opengles']);
    const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    if (!adapter) return 'no WebGPU adapter on the OpenGL ES backend (install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri; as .ci/run does)';
    (globalThis as { __hessgenGpu?: GPU }).__hessgenGpu = gpu; // keep Dawn's instance alive
    const info = adapter.info;
    return { device: await deviceFromAdapter(adapter), adapter: `${info.vendor} ${info.device} ${info.description}`.trim() };
  })();
  return executor;
}

/**
 * The executing device for a test, or a skip with a loud message where none can be had;
 * in CI a missing adapter fails the test instead.
 */
export async function deviceOrSkip(ctx: { skip: (note?: string) => void }): Promise<GPUDevice> {
  const d = await mesaDevice();
  if (typeof d === 'string') {
    if (process.env.CI) throw new Error(`GPU tests must run in CI: ${d}`);
    console.warn(`\n*** SKIPPING GPU EXECUTION TESTS: ${d} ***\n`);
    ctx.skip(d);
    throw new Error('unreachable');
  }
  return d.device;
}
