// Obtaining a GPUDevice with the limits hessgen's kernels need: in a browser through
// navigator.gpu, in Node through the `webgpu` package (Dawn), an optional peer dependency that
// only GPU users install. Nothing model-specific lives here.

export interface DeviceOptions {
  /** Node only: Dawn's backend ('vulkan', 'opengles', 'null' for validation without execution, ...). Default: Dawn's choice. */
  readonly backend?: 'null' | 'opengles' | 'vulkan' | 'd3d12' | 'metal';
  /** 'compatibility' is needed for Dawn's OpenGL ES backend (Mesa's llvmpipe on a CPU). */
  readonly featureLevel?: 'core' | 'compatibility';
  readonly powerPreference?: 'low-power' | 'high-performance';
}

export interface GpuContext {
  readonly device: GPUDevice;
  /** A human-readable description of the adapter. */
  readonly adapter: string;
  /** Destroys the device and lets Node exit. */
  close(): void;
}

/** The limits the kernels benefit from: every one raised to what the adapter offers. */
export const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
] as const;

/** The limits to request from an adapter: the largest it supports for each wanted limit. */
export function limitsFor(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

/** Requests a device from an adapter with the largest limits it offers (see WANTED_LIMITS). */
export async function deviceFromAdapter(adapter: GPUAdapter): Promise<GPUDevice> {
  return adapter.requestDevice({ requiredLimits: limitsFor(adapter) });
}

export function describeAdapter(adapter: GPUAdapter): string {
  const info = (adapter as unknown as { info?: GPUAdapterInfo }).info;
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((x) => typeof x === 'string' && x.length > 0);
  return parts.length > 0 ? [...new Set(parts)].join(' ') : 'unknown adapter';
}

/**
 * A device: navigator.gpu in a browser, otherwise the `webgpu` package in Node. Throws an
 * Error saying what is missing when there is no WebGPU or no adapter.
 */
export async function requestDevice(options: DeviceOptions = {}): Promise<GpuContext> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  let gpu: GPU | undefined = nav?.gpu;
  let keepAlive: unknown = null;
  if (!gpu || options.backend !== undefined) {
    let mod: { create(flags: string[]): GPU; globals: object };
    try {
      const name = 'webgpu'; // a variable: bundlers for the browser must not try to include it
      mod = (await import(/* @vite-ignore */ name)) as typeof mod;
    } catch (e) {
      throw new Error(`hessgen: no WebGPU here: navigator.gpu is missing and the 'webgpu' package cannot be loaded (npm install webgpu): ${(e as Error).message}`);
    }
    // GPUBufferUsage and friends, as a browser has them.
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    gpu = mod.create(options.backend ? [`backend=${options.backend}`] : []);
    keepAlive = gpu;
  }
  const adapter = await gpu.requestAdapter({
    ...(options.featureLevel ? { featureLevel: options.featureLevel } : {}),
    ...(options.powerPreference ? { powerPreference: options.powerPreference } : {}),
  } as GPURequestAdapterOptions);
  if (!adapter) throw new Error(`hessgen: no WebGPU adapter${options.backend ? ` for backend ${options.backend}` : ''}${options.featureLevel ? ` (${options.featureLevel})` : ''}`);
  const device = await deviceFromAdapter(adapter);
  return {
    device,
    adapter: describeAdapter(adapter),
    close() {
      device.destroy();
      keepAlive = null; // Node exits only once Dawn's instance is unreferenced
      void keepAlive;
    },
  };
}
