// Runs a generated GPU module's kernels on a GPUDevice. The module brings its WGSL and a plan
// (buffers, kernels, steps of each entry point); everything here is the same for every model:
// checking inputs, sizing and reusing buffers, pipelines (cached per device), uniforms,
// dispatch, read-back, and GPU errors turned into JavaScript errors that name the kernel.

import { checkData, type DataLayout } from './data.ts';
import {
  dataOffsetField, dataStrideField, dimField, FIRST_HESSIAN_BINDING, partField, STORAGE_BINDINGS, tempOffsetField, tempStrideField, THETA_STRIDE_FIELD,
  TILE, TILED_INVOCATIONS, UNIFORM_BINDING, WORKGROUP, type DispatchField, type StorageRole,
} from './layout.ts';

export type Dim = number | string;
export type Step = { readonly clear: string } | { readonly unit: string };
export type EntryName = 'value' | 'gradient' | 'hessian' | 'evaluate' | 'hvp' | 'hessianDiagonal' | 'gaussNewton' | 'hessianSparse';

export interface GpuPlan {
  readonly n: number;
  /** Windows of the Hessian a kernel sees at once (bindings 6, 7, ...). */
  readonly hessianWindows: number;
  readonly dims: readonly string[];
  readonly data: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
  readonly temps: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
  readonly units: readonly {
    readonly name: string;
    /** Plain kernels: each loop nest's thread extents; a problem's threads are the nests' in turn. */
    readonly parts: readonly (readonly Dim[])[];
    readonly tiled?: { readonly rows: readonly Dim[]; readonly cols: readonly Dim[] };
    readonly hessian: boolean;
    /** A hessianSparse twin: it writes the CSR values (one window fewer) and reads the pattern (the last window's binding). */
    readonly sparse?: boolean;
    /** The uniform fields its shader's Params struct holds, in order (all 32-bit). */
    readonly fields: readonly string[];
  }[];
  /**
   * Steps of each entry point; hvp and hessianDiagonal only in modules built with them,
   * gaussNewton only in modules of models with outputs (it writes the Hessian's buffer),
   * hessianSparse only in modules built with it.
   */
  readonly entries: Readonly<Record<'value' | 'gradient' | 'hessian' | 'evaluate', readonly Step[]>> & {
    readonly hvp?: readonly Step[];
    readonly hessianDiagonal?: readonly Step[];
    readonly gaussNewton?: readonly Step[];
    readonly hessianSparse?: readonly Step[];
  };
}

/** A CSR sparsity pattern (the generated module's model.hessianPattern). */
export interface SparsePattern {
  readonly n: number;
  readonly nnz: number;
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
}

export interface ModelInfo {
  readonly name: string;
  readonly n: number;
  /** In modules built with hessianSparse. */
  readonly hessianPattern?: SparsePattern;
}

export interface Kernels<D> {
  setData(data: D, options?: { batched?: readonly string[] }): void;
  evaluate(theta: ArrayLike<number>): Promise<{ value: number; gradient: Float32Array; hessian: Float32Array }>;
  hessian(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  hessianBatch(thetas: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  /** H·v at θ (v laid out like θ), without forming H; into `out` when given. */
  hvp(theta: ArrayLike<number>, v: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  /** The Hessian's diagonal at θ, without forming H; into `out` when given. */
  hessianDiagonal(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  /**
   * The Hessian's structurally nonzero entries at θ in the order of model.hessianPattern (CSR),
   * into `values` when given; never an n × n buffer (modules built with hessianSparse).
   */
  hessianSparse(theta: ArrayLike<number>, values?: Float32Array): Promise<Float32Array>;
  /** The same values left on the GPU: a buffer of at least nnz floats, reused (valid until the next call). */
  hessianSparseBuffer(theta: ArrayLike<number>): Promise<GPUBuffer>;
  /**
   * The generalized Gauss-Newton matrix at θ (models with `output` declarations), dense row-major
   * n × n; into `out` when given. It is computed in the Hessian's buffer, so it replaces the
   * Hessian that hessianBuffer returned.
   */
  gaussNewton(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  evaluateBatch(thetas: ArrayLike<number>): Promise<{ values: Float32Array; gradients: Float32Array; hessians: Float32Array }>;
  hessianBuffer(theta: ArrayLike<number>): Promise<GPUBuffer>;
  hessianBatchBuffer(thetas: ArrayLike<number>): Promise<GPUBuffer>;
  /** For Hessians larger than one GPUBuffer: consecutive parts, `elementsPerBuffer` floats each (the last may hold fewer). */
  hessianBuffers(thetas: ArrayLike<number>, options?: { batch?: boolean }): Promise<{ buffers: GPUBuffer[]; elementsPerBuffer: number }>;
  destroy(): void;
}

// WebGPU's flags as numbers, so that Node needs no globals installed.
const STORAGE = 0x80;
const UNIFORM = 0x40;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const MAP_MODE_READ = 0x01;
const COMPUTE = 0x4;

const MAX_I32 = 2 ** 31 - 1;

type Role = StorageRole;

/** Where the Hessian lives: parts of at most maxBufferSize, seen by the kernels through windows of at most one binding. */
interface HessianStore {
  readonly parts: GPUBuffer[];
  readonly partLen: number;
  readonly windows: { start: number; len: number; part: number; offset: number }[];
  /** Elements per window (the last may hold fewer). */
  readonly winLen: number;
  /** Elements of the result (all problems). */
  readonly length: number;
}

interface DeviceCache {
  /** Layouts by the number of Hessian windows bound. */
  readonly layouts: Map<number, { layout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout }>;
  /** By WGSL source, with how many live kernel sets use each (dropped at zero, so that they can be freed). */
  readonly pipelines: Map<string, { pipeline: Promise<GPUComputePipeline>; users: number }>;
  /** Why the device was lost, once it is (one listener per device: kernel sets stay collectable). */
  lost: string | null;
}
const caches = new WeakMap<GPUDevice, DeviceCache>();

function deviceCache(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (c) return c;
  const cache: DeviceCache = { layouts: new Map(), pipelines: new Map(), lost: null };
  void device.lost.then((info) => {
    cache.lost = info.message || String(info.reason);
  });
  caches.set(device, cache);
  c = cache;
  return c;
}

/**
 * The one bind group layout of every kernel (./layout.ts): the uniform parameters (dynamic
 * offset), θ, the data, the workspaces, the value, the gradient, then the Hessian's windows.
 */
function layoutFor(device: GPUDevice, windows: number): { layout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout } {
  const cache = deviceCache(device);
  let l = cache.layouts.get(windows);
  if (l) return l;
  const storage = (binding: number, type: 'storage' | 'read-only-storage'): GPUBindGroupLayoutEntry => ({ binding, visibility: COMPUTE, buffer: { type } });
  const layout = device.createBindGroupLayout({
    label: 'hessgen',
    entries: [
      { binding: UNIFORM_BINDING, visibility: COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
      ...STORAGE_BINDINGS.map((b) => storage(b.binding, b.access === 'read' ? 'read-only-storage' : 'storage')),
      ...Array.from({ length: windows }, (_, k) => storage(FIRST_HESSIAN_BINDING + k, 'storage')),
    ],
  });
  l = { layout, pipelineLayout: device.createPipelineLayout({ label: 'hessgen', bindGroupLayouts: [layout] }) };
  cache.layouts.set(windows, l);
  return l;
}

/** A compute pipeline for a shader, compiled once per device while some kernel set uses it. */
async function pipeline(device: GPUDevice, layout: GPUPipelineLayout, model: string, name: string, code: string): Promise<GPUComputePipeline> {
  const cache = deviceCache(device);
  const key = code;
  const have = cache.pipelines.get(key);
  if (have) {
    have.users++;
    return have.pipeline;
  }
  {
    const p = (async () => {
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ label: `${model}/${name}`, code });
      const info = await module.getCompilationInfo();
      const err = await device.popErrorScope();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length > 0 || err) {
        const what = errors.map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`).join('; ') || err!.message;
        throw new Error(`hessgen ${model}: WGSL of kernel ${name} does not compile: ${what}`);
      }
      try {
        return await device.createComputePipelineAsync({ label: `${model}/${name}`, layout, compute: { module, entryPoint: 'main' } });
      } catch (e) {
        throw new Error(`hessgen ${model}: pipeline of kernel ${name} failed: ${(e as Error).message}`);
      }
    })();
    cache.pipelines.set(key, { pipeline: p, users: 1 });
    p.catch(() => cache.pipelines.delete(key));
    return p;
  }
}

/** Gives back a kernel set's pipelines. */
function releasePipelines(device: GPUDevice, codes: readonly string[]): void {
  const cache = deviceCache(device);
  for (const code of codes) {
    const e = cache.pipelines.get(code);
    if (e && --e.users <= 0) cache.pipelines.delete(code);
  }
}

/** Creates the kernels of a generated module on a device (compiling its pipelines). */
export interface EngineOptions {
  /**
   * Largest window of the Hessian one binding shows a kernel, in bytes (default: the device's
   * maxStorageBufferBindingSize). Smaller windows bound the memory a kernel addresses; tests use
   * it to exercise several passes over the Hessian without allocating gigabytes.
   */
  readonly maxWindowBytes?: number;
}

export async function createEngine<D>(device: GPUDevice, model: ModelInfo, plan: GpuPlan, wgsl: Readonly<Record<string, string>>, options: EngineOptions = {}): Promise<Kernels<D>> {
  if (device == null || typeof device.createBuffer !== 'function') throw new TypeError(`hessgen ${model.name}: createKernels needs a GPUDevice`);
  // What the kernels need beyond WebGPU's defaults (compatibility mode's are lower still).
  const needs: [keyof GPUSupportedLimits, number][] = [
    ['maxStorageBuffersPerShaderStage', STORAGE_BINDINGS.length + plan.hessianWindows],
    ['maxComputeInvocationsPerWorkgroup', plan.units.some((u) => u.tiled) ? TILED_INVOCATIONS : WORKGROUP],
  ];
  for (const [limit, need] of needs) {
    const have = device.limits[limit] as number;
    if (have < need) {
      throw new Error(`hessgen ${model.name}: the device's ${limit} is ${have}; the kernels need ${need} (request the adapter's limits, e.g. with requestDevice from hessgen/runtime)`);
    }
  }
  const pipelines = new Map<string, GPUComputePipeline>();
  const codes = plan.units.map((u) => wgsl[u.name]!);
  try {
    const { pipelineLayout } = layoutFor(device, plan.hessianWindows);
    await Promise.all(plan.units.map(async (u, k) => pipelines.set(u.name, await pipeline(device, pipelineLayout, model.name, u.name, codes[k]!))));
  } catch (e) {
    releasePipelines(device, codes);
    throw e;
  }
  return new Engine<D>(device, model, plan, pipelines, () => releasePipelines(device, codes), options);
}

/** θ as it is when the call is made (a call may start after the caller has changed its array). */
function snapshot(theta: ArrayLike<number>): ArrayLike<number> {
  return theta != null && typeof theta.length === 'number' ? Float32Array.from(theta) : theta;
}

type Op =
  /** Zero a range of a buffer (a number stands for a part of the Hessian). */
  | { readonly clear: Role | number; readonly offset: number; readonly size: number }
  /** A dispatch: its uniform record's byte offset and its pass over the Hessian. */
  | { readonly unit: string; readonly uniform: number; readonly pass: number; readonly groups: [number, number, number] };

interface Schedule {
  readonly ops: readonly Op[];
  readonly passes: readonly HessianStore['windows'][];
  readonly uniforms: Int32Array<ArrayBuffer>; // ArrayBuffer-backed: what writeBuffer takes under the DOM lib
}

class Engine<D> implements Kernels<D> {
  private readonly cache: DeviceCache;
  private readonly buffers = new Map<Role | 'uniform' | 'pattern' | `spare${number}`, GPUBuffer>();
  private hess: HessianStore | null = null;
  /** hessianSparse's values (nnz per problem), in windows like the Hessian's; its bind groups (the pattern in the last window's binding). */
  private sparse: HessianStore | null = null;
  private sparseGroups: GPUBindGroup[] = [];
  private sparseGroupsKey = '';
  private readonly staging: GPUBuffer[] = [];
  private data: DataLayout | null = null;
  private destroyed = false;
  private lost: string | null = null;
  /** Bind groups for the current buffers, one per pass over the Hessian's windows. */
  private groups: GPUBindGroup[] = [];
  private readonly n: number;
  /** Bytes of the largest Params struct: the uniform binding's size. */
  private readonly uniformSize: number;
  /** Bytes between dispatches' uniform records (the dynamic offset alignment). */
  private readonly uniformStride: number;
  private readonly units: ReadonlyMap<string, GpuPlan['units'][number]>;
  private readonly tempIndex: ReadonlyMap<string, number>;

  constructor(
    private readonly device: GPUDevice,
    private readonly model: ModelInfo,
    private readonly plan: GpuPlan,
    private readonly pipelines: ReadonlyMap<string, GPUComputePipeline>,
    private readonly release: () => void,
    private readonly options: EngineOptions,
  ) {
    this.cache = deviceCache(device);
    this.n = plan.n;
    this.uniformSize = Math.ceil((Math.max(1, ...plan.units.map((u) => u.fields.length)) * 4) / 16) * 16;
    const align = device.limits.minUniformBufferOffsetAlignment;
    this.uniformStride = Math.ceil(this.uniformSize / align) * align;
    this.units = new Map(plan.units.map((u) => [u.name, u]));
    this.tempIndex = new Map(plan.temps.map((t, k) => [t.name, k]));
    if (plan.data.length === 0) this.data = checkData(model.name, plan, {}, undefined);
  }

  setData(data: D, options?: { batched?: readonly string[] }): void {
    this.alive();
    const layout = checkData(this.model.name, this.plan, data as unknown as Record<string, unknown>, options?.batched);
    this.data = layout;
    this.schedules.clear();
    this.write('data', layout.values);
  }

  evaluate(theta: ArrayLike<number>): Promise<{ value: number; gradient: Float32Array; hessian: Float32Array }> {
    const snap = snapshot(theta);
    return this.serial(async () => {
      const r = await this.evaluateAll(snap, false);
      return { value: r.values[0]!, gradient: r.gradients, hessian: r.hessians };
    });
  }

  evaluateBatch(thetas: ArrayLike<number>): Promise<{ values: Float32Array; gradients: Float32Array; hessians: Float32Array }> {
    const snap = snapshot(thetas);
    return this.serial(() => this.evaluateAll(snap, true));
  }

  hessian(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array> {
    const snap = snapshot(theta);
    return this.serial(async () => {
      await this.run('hessian', snap, false, out);
      return this.readHessian(out);
    });
  }

  hessianBatch(thetas: ArrayLike<number>, out?: Float32Array): Promise<Float32Array> {
    const snap = snapshot(thetas);
    return this.serial(async () => {
      await this.run('hessian', snap, true, out);
      return this.readHessian(out);
    });
  }

  hvp(theta: ArrayLike<number>, v: ArrayLike<number>, out?: Float32Array): Promise<Float32Array> {
    const n = this.n;
    if (v == null || typeof v.length !== 'number') throw new RangeError(`v: expected an array of length ${n}`);
    if (v.length !== n) throw new RangeError(`v has length ${v.length}, expected ${n}`);
    if (theta == null || typeof theta.length !== 'number' || theta.length !== n) throw new RangeError(`theta has length ${theta?.length}, expected ${n}`);
    this.output('hvp', n, out);
    // θ and v in θ's binding, one after the other (the kernels read v from n on).
    const both = new Float32Array(2 * n);
    both.set(Float32Array.from(theta));
    both.set(Float32Array.from(v), n);
    return this.serial(async () => {
      await this.run('hvp', both, false, undefined, 2 * n);
      return this.readInto('gradient', n, out);
    });
  }

  hessianDiagonal(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array> {
    this.output('hessianDiagonal', this.n, out);
    const snap = snapshot(theta);
    return this.serial(async () => {
      await this.run('hessianDiagonal', snap, false);
      return this.readInto('gradient', this.n, out);
    });
  }

  hessianSparse(theta: ArrayLike<number>, values?: Float32Array): Promise<Float32Array> {
    const nnz = this.pattern().nnz;
    this.output('hessianSparse values', nnz, values);
    const snap = snapshot(theta);
    return this.serial(async () => {
      await this.run('hessianSparse', snap, false);
      const result = values ?? new Float32Array(nnz);
      const h = this.sparse!;
      for (let k = 0; k < h.parts.length; k++) {
        const start = k * h.partLen;
        await this.copyOut(h.parts[k]!, result.subarray(start, Math.min(nnz, start + h.partLen)));
      }
      return result;
    });
  }

  hessianSparseBuffer(theta: ArrayLike<number>): Promise<GPUBuffer> {
    this.pattern();
    const snap = snapshot(theta);
    return this.serial(async () => {
      await this.run('hessianSparse', snap, false);
      const h = this.sparse!;
      if (h.parts.length > 1) throw new RangeError(`hessgen ${this.model.name}: the sparse values need ${h.length * 4} bytes, more than one buffer may hold (maxBufferSize ${this.device.limits.maxBufferSize})`);
      return h.parts[0]!;
    });
  }

  /** The model's pattern (an error in a module built without hessianSparse). */
  private pattern(): SparsePattern {
    const P = this.plan.entries.hessianSparse === undefined ? undefined : this.model.hessianPattern;
    if (P === undefined) throw new Error(`hessgen ${this.model.name}: this module was built without hessianSparse (see the outputs option)`);
    return P;
  }

  gaussNewton(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array> {
    const snap = snapshot(theta);
    return this.serial(async () => {
      await this.run('gaussNewton', snap, false, out);
      return this.readHessian(out);
    });
  }

  hessianBuffer(theta: ArrayLike<number>): Promise<GPUBuffer> {
    const snap = snapshot(theta);
    return this.serial(async () => {
      await this.run('hessian', snap, false);
      return this.single();
    });
  }

  hessianBatchBuffer(thetas: ArrayLike<number>): Promise<GPUBuffer> {
    const snap = snapshot(thetas);
    return this.serial(async () => {
      await this.run('hessian', snap, true);
      return this.single();
    });
  }

  hessianBuffers(thetas: ArrayLike<number>, options?: { batch?: boolean }): Promise<{ buffers: GPUBuffer[]; elementsPerBuffer: number }> {
    const snap = snapshot(thetas);
    return this.serial(async () => {
      await this.run('hessian', snap, options?.batch ?? false);
      return { buffers: [...this.hess!.parts], elementsPerBuffer: this.hess!.partLen };
    });
  }

  /**
   * Calls share the workspaces and outputs: each starts once the previous one has read its
   * results back, so that calls made without awaiting each other still get their own results.
   */
  private serial<T>(call: () => Promise<T>): Promise<T> {
    const result = this.tail.then(call, call);
    this.tail = result.catch(() => undefined);
    return result;
  }
  private tail: Promise<unknown> = Promise.resolve();

  /** The Hessian's one buffer (an error when it needed several). */
  private single(): GPUBuffer {
    const h = this.hess!;
    if (h.parts.length > 1) {
      throw new RangeError(
        `hessgen ${this.model.name}: the Hessian needs ${h.length * 4} bytes, more than one buffer may hold (maxBufferSize ${this.device.limits.maxBufferSize}); use hessianBuffers(), which returns it in ${h.parts.length} parts`,
      );
    }
    return h.parts[0]!;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.release();
    for (const b of [...this.buffers.values(), ...this.staging, ...(this.hess?.parts ?? []), ...(this.sparse?.parts ?? [])]) b.destroy();
    this.hess = null;
    this.sparse = null;
    this.sparseGroups = [];
    this.buffers.clear();
    this.staging.length = 0;
    this.groups = [];
  }

  // ---- running -------------------------------------------------------------------------------

  private async evaluateAll(thetas: ArrayLike<number>, batch: boolean) {
    const B = await this.run('evaluate', thetas, batch);
    const n = this.n;
    const [values, gradients, hessians] = await Promise.all([
      this.read('value', B),
      this.read('gradient', B * n),
      this.readHessian(),
    ]);
    return { values, gradients, hessians };
  }

  private alive(): void {
    if (this.destroyed) throw new Error(`hessgen ${this.model.name}: these kernels were destroyed`);
    const lost = this.lost ?? this.cache.lost;
    if (lost !== null) throw new Error(`hessgen ${this.model.name}: the GPU device was lost: ${lost}`);
  }

  /** Checks θ, sizes the buffers, then encodes and submits every step of an entry point; returns B. */
  private async run(entry: EntryName, thetas: ArrayLike<number>, batch: boolean, out?: Float32Array, thetaLength?: number): Promise<number> {
    this.alive();
    const name = this.model.name;
    const n = this.n;
    if (this.plan.entries[entry] === undefined) throw new Error(`hessgen ${name}: this module was built without ${entry} (see the outputs option)`);
    // (θ with the direction of H·v after it: one problem.)
    const { B, thetaShared } = thetaLength === undefined ? this.problems(thetas, batch) : this.problems(Array.prototype.slice.call(thetas, 0, n) as number[], false);
    // A wrong output array is an error before any work.
    // (Checked only: H·v, the diagonal and the sparse values must not allocate n² floats.)
    if (out !== undefined) this.output(entry === 'gaussNewton' ? 'gaussNewton' : 'hessian', B * n * n, out);
    const plan = this.schedule(entry, B, thetaShared);
    this.ensure('theta', thetaLength ?? (thetaShared ? 1 : B) * n);
    this.write('theta', thetas instanceof Float32Array ? thetas : Float32Array.from(thetas));
    const sparse = entry === 'hessianSparse';
    const hess = sparse ? this.sparse! : this.hess!;
    if (this.uniformHolds !== plan) {
      this.device.queue.writeBuffer(this.buffers.get('uniform')!, 0, plan.uniforms);
      this.uniformHolds = plan;
    }
    if (sparse) this.bindSparseGroups(plan.passes);
    else this.bindGroups(plan.passes);
    const groups = sparse ? this.sparseGroups : this.groups;

    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const enc = this.device.createCommandEncoder({ label: `${name}.${entry}` });
    let pass: GPUComputePassEncoder | null = null;
    const endPass = () => {
      pass?.end();
      pass = null;
    };
    for (const op of plan.ops) {
      if ('clear' in op) {
        endPass();
        const target = typeof op.clear === 'number' ? hess.parts[op.clear]! : this.buffers.get(op.clear)!;
        if (op.size > 0) enc.clearBuffer(target, op.offset * 4, op.size * 4);
        continue;
      }
      if (!pass) pass = enc.beginComputePass({ label: `${name}.${entry}` });
      const p: GPUComputePassEncoder = pass;
      p.setPipeline(this.pipelines.get(op.unit)!);
      p.setBindGroup(0, groups[op.pass]!, [op.uniform]);
      p.dispatchWorkgroups(op.groups[0], op.groups[1], op.groups[2]);
    }
    endPass();
    this.device.queue.submit([enc.finish()]);
    const [validation, memory] = [await this.device.popErrorScope(), await this.device.popErrorScope()];
    const err = validation ?? memory;
    if (err) throw new Error(`hessgen ${name}: GPU error in ${entry}: ${err.message}`);
    return B;
  }

  /** How many problems a call is for, and whether they share one θ (RangeErrors for bad θ). */
  private problems(thetas: ArrayLike<number>, batch: boolean): { B: number; thetaShared: boolean } {
    const n = this.n;
    const data = this.data;
    if (data === null) throw new Error(`hessgen ${this.model.name}: no data: call setData first`);
    if (thetas == null || typeof thetas.length !== 'number') throw new RangeError(`theta: expected an array of length ${batch ? `B × ${n}` : n}`);
    if (!batch) {
      if (data.problems !== null) throw new RangeError(`data are batched (${data.problems} problems): use hessianBatch or evaluateBatch`);
      if (thetas.length !== n) throw new RangeError(`theta has length ${thetas.length}, expected ${n}`);
      return { B: 1, thetaShared: false };
    }
    if (data.problems !== null) {
      const B = data.problems;
      if (thetas.length === n) return { B, thetaShared: true };
      if (thetas.length !== B * n) throw new RangeError(`thetas has length ${thetas.length}, expected ${n} (one θ for all) or ${B} × ${n} (the data hold ${B} problems)`);
      return { B, thetaShared: false };
    }
    const B = thetas.length / n;
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`thetas has length ${thetas.length}, expected a positive multiple of ${n}`);
    return { B, thetaShared: false };
  }

  /**
   * The clears and dispatches of an entry point for B problems, with every dispatch's uniform
   * record; sizes the workspaces and the Hessian. Computed once per entry, B and θ sharing for
   * the current data, so that repeated calls only upload θ and encode.
   */
  private schedule(entry: EntryName, B: number, thetaShared: boolean): Schedule {
    const key = `${entry} ${B} ${thetaShared}`;
    const have = this.schedules.get(key);
    const n = this.n;
    const sparse = entry === 'hessianSparse';
    // (hessianSparse writes B × nnz values, never the n × n Hessian.)
    const hessLen = sparse ? B * this.pattern().nnz : B * n * n;
    const dims = this.data!.dims;
    const sizeOf = (shape: readonly Dim[]) => shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : dims.get(d)!), 1);
    const temps: { off: number; size: number }[] = [];
    let tempTotal = 0;
    for (const t of this.plan.temps) {
      const size = sizeOf(t.shape);
      temps.push({ off: tempTotal, size });
      tempTotal += B * size;
    }
    if (tempTotal > MAX_I32 || hessLen > MAX_I32) {
      throw new RangeError(`hessgen ${this.model.name}: ${B} problem(s) need more than 2^31 elements in one buffer; split the batch`);
    }
    // (Buffers may have been resized by another schedule since: size them again, cheaply.)
    this.ensure('temp', tempTotal);
    this.ensure('value', B);
    this.ensure('gradient', B * n);
    // Only the entries that write the Hessian size it (H·v and the diagonal must not allocate n²).
    const writesHessian = entry === 'hessian' || entry === 'evaluate' || entry === 'gaussNewton';
    const hess = sparse ? this.ensureSparse(hessLen) : writesHessian || this.hess === null ? this.ensureHessian(writesHessian ? hessLen : 1) : this.hess;
    if (have) {
      this.ensureBytes('uniform', have.uniforms.byteLength, UNIFORM | COPY_DST);
      return have;
    }

    // Kernels that write the Hessian see `hessianWindows` windows of it at once: one pass per
    // group of windows (a single pass unless the Hessian is larger than that many bindings).
    // (A sparse twin sees one window fewer: the last binding holds the pattern.)
    const W = sparse ? this.plan.hessianWindows - 1 : this.plan.hessianWindows;
    const passes: HessianStore['windows'][] = [];
    for (let k = 0; k < hess.windows.length; k += W) passes.push(hess.windows.slice(k, k + W));

    // Uniforms: the values shared by every dispatch; each dispatch's record takes the fields
    // its shader declares from them, plus its own.
    const base = new Map<string, number>([[THETA_STRIDE_FIELD, thetaShared ? 0 : n]]);
    for (const d of this.plan.dims) base.set(dimField(d), dims.get(d)!);
    this.data!.arrays.forEach((a, k) => {
      base.set(dataOffsetField(k), a.offset);
      base.set(dataStrideField(k), a.stride);
    });
    temps.forEach((t, k) => {
      base.set(tempOffsetField(k), t.off);
      base.set(tempStrideField(k), t.size);
    });
    const records: Int32Array[] = [];
    const ops: Op[] = [];
    // Clearing the Hessian: each part (a number stands for a part).
    const clearHessian: Op[] = hess.parts.map((_, k) => ({ clear: k, offset: 0, size: Math.min(hess.partLen, hessLen - k * hess.partLen) }));
    if (entry === 'value' || entry === 'evaluate') ops.push({ clear: 'value', offset: 0, size: B });
    if (entry === 'gradient' || entry === 'evaluate' || entry === 'hvp' || entry === 'hessianDiagonal') ops.push({ clear: 'gradient', offset: 0, size: B * n });
    if (entry === 'hessian' || entry === 'evaluate' || entry === 'gaussNewton' || sparse) ops.push(...clearHessian);
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    for (const step of this.plan.entries[entry] ?? []) {
      if ('clear' in step) {
        const k = this.tempIndex.get(step.clear);
        if (k !== undefined) ops.push({ clear: 'temp', offset: temps[k]!.off, size: B * temps[k]!.size });
        else if (step.clear === 'hessian') ops.push(...clearHessian);
        else ops.push({ clear: step.clear as Role, offset: 0, size: step.clear === 'value' ? B : B * n });
        continue;
      }
      const unit = this.units.get(step.unit)!;
      const wins = unit.hessian ? passes.map((_, w) => w) : [0];
      const partSizes = unit.parts.map(sizeOf);
      const record = (first: number, count: number, threads: number, gridX: number, w: number) => {
        const pass = passes[w]!;
        const span = pass.reduce((a, x) => a + x.len, 0);
        // (Typed by the layout's list: a field added there must be set here.)
        const fixed: Record<DispatchField, number> = { first, total: count * threads, threads, grid_x: gridX, win_start: pass[0]!.start, win_len: hess.winLen, win_span: span };
        const own: Record<string, number> = { ...fixed };
        // Merged units are laid out unit by unit, each over all the dispatch's problems.
        partSizes.forEach((t, k) => (own[partField(k)] = count * t));
        const r = new Int32Array(unit.fields.length);
        unit.fields.forEach((f, k) => (r[k] = own[f] ?? base.get(f)!));
        records.push(r);
        return (records.length - 1) * this.uniformStride;
      };
      if (unit.tiled) {
        const R = sizeOf(unit.tiled.rows);
        const C = sizeOf(unit.tiled.cols);
        if (R === 0 || C === 0) continue;
        const gx = Math.ceil(C / TILE);
        const gy = Math.ceil(R / TILE);
        if (gx > maxGroups || gy > maxGroups) throw new RangeError(`hessgen ${this.model.name}: kernel ${unit.name} is too large for one dispatch`);
        for (const w of wins) for (let first = 0; first < B; first += maxGroups) {
          const count = Math.min(maxGroups, B - first);
          ops.push({ unit: unit.name, uniform: record(first, count, 1, gx, w), pass: w, groups: [gx, gy, count] });
        }
        continue;
      }
      const T = partSizes.reduce((a, b) => a + b, 0);
      if (T === 0) continue;
      // Problems per dispatch: the thread count must stay within 2^31 and the grid.
      const perDispatch = Math.max(1, Math.min(B, Math.floor(MAX_I32 / T), Math.floor((maxGroups * maxGroups * WORKGROUP) / T)));
      for (const w of wins) for (let first = 0; first < B; first += perDispatch) {
        const count = Math.min(perDispatch, B - first);
        const groupsNeeded = Math.ceil((count * T) / WORKGROUP);
        const gx = Math.min(groupsNeeded, maxGroups);
        const gy = Math.ceil(groupsNeeded / gx);
        ops.push({ unit: unit.name, uniform: record(first, count, T, gx, w), pass: w, groups: [gx, gy, 1] });
      }
    }
    // One uniform record per dispatch, each at an aligned offset (dynamic offsets).
    const uniforms = new Int32Array((Math.max(1, records.length) * this.uniformStride) / 4);
    records.forEach((r, k) => uniforms.set(r, (k * this.uniformStride) / 4));
    this.ensureBytes('uniform', uniforms.byteLength, UNIFORM | COPY_DST);
    const plan: Schedule = { ops, passes, uniforms };
    this.schedules.set(key, plan);
    return plan;
  }

  /** Schedules for the current data, by entry point, B and θ sharing (see schedule()). */
  private readonly schedules = new Map<string, Schedule>();
  /** Which schedule's uniform records the uniform buffer holds. */
  private uniformHolds: Schedule | null = null;
  private uniformBound: GPUBuffer | null = null;
  private groupsKey = '';

  // ---- buffers -------------------------------------------------------------------------------

  /** A storage buffer of the role holding at least `elements` floats (grown, never shrunk). */
  private ensure(role: Role, elements: number): GPUBuffer {
    return this.ensureBytes(role, Math.max(16, elements * 4), STORAGE | COPY_DST | COPY_SRC);
  }

  /**
   * Hessian storage for `length` floats: windows of at most one storage binding (starting at
   * 256-byte aligned offsets), grouped into parts of at most one buffer. Reused while it fits.
   */
  private ensureHessian(length: number): HessianStore {
    const lim = this.device.limits;
    const bindable = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize, this.options.maxWindowBytes ?? Infinity);
    const winLen = Math.max(WORKGROUP, Math.floor(bindable / 4 / WORKGROUP) * WORKGROUP);
    const partLen = Math.max(1, Math.floor(lim.maxBufferSize / 4 / winLen)) * winLen;
    const total = Math.max(1, length);
    const windows: HessianStore['windows'] = [];
    for (let start = 0; start < total; start += winLen) {
      const part = Math.floor(start / partLen);
      windows.push({ start, len: Math.min(winLen, total - start), part, offset: start - part * partLen });
    }
    const have = this.hess;
    const fits = have !== null && have.partLen === partLen && have.parts.length === Math.ceil(total / partLen) && have.parts.every((p, k) => p.size >= Math.min(partLen, total - k * partLen) * 4);
    if (fits) {
      if (have.windows.length !== windows.length) this.groups = [];
      this.hess = { ...have, windows, length, winLen };
      return this.hess;
    }
    for (const p of have?.parts ?? []) p.destroy();
    const parts: GPUBuffer[] = [];
    for (let start = 0; start < total; start += partLen) {
      const len = Math.min(partLen, total - start);
      parts.push(this.createBuffer(`hessian part ${parts.length}`, Math.max(16, len * 4), STORAGE | COPY_DST | COPY_SRC));
    }
    this.groups = [];
    this.hess = { parts, partLen, windows, length, winLen };
    return this.hess;
  }

  /** Storage for hessianSparse's values (`length` floats), windowed like the Hessian's; the pattern uploaded once. */
  private ensureSparse(length: number): HessianStore {
    if (!this.buffers.has('pattern')) {
      const P = this.pattern();
      const both = new Int32Array(P.n + 1 + P.nnz);
      both.set(P.rowPtr);
      both.set(P.colIdx, P.n + 1);
      const b = this.ensureBytes('pattern', Math.max(16, both.byteLength), STORAGE | COPY_DST);
      if (both.length > 0) this.device.queue.writeBuffer(b, 0, both.buffer, both.byteOffset, both.byteLength);
    }
    const dense = this.hess;
    const groups = this.groups;
    this.hess = this.sparse;
    try {
      this.sparse = this.ensureHessian(length);
    } finally {
      this.hess = dense;
      this.groups = groups;
    }
    return this.sparse;
  }

  /** Bind groups of hessianSparse: per pass, its windows of the values, then the pattern. */
  private bindSparseGroups(passes: readonly HessianStore['windows'][]): void {
    const key = passes.map((p) => p.map((w) => `${w.part}:${w.offset}:${w.len}`).join(',')).join('|');
    const parts = this.sparse!.parts;
    const uniform = this.buffers.get('uniform') ?? this.ensureBytes('uniform', 256, UNIFORM | COPY_DST);
    const W = this.plan.hessianWindows;
    // (Buffers replaced since empty the groups: see ensureBytes.)
    if (this.sparseGroups.length === passes.length && this.sparseGroupsKey === key && this.sparseUniform === uniform && this.sparseParts === parts) return;
    this.sparseGroupsKey = key;
    this.sparseUniform = uniform;
    this.sparseParts = parts;
    const spare = (slot: number) => this.ensureBytes(`spare${slot}`, 16, STORAGE);
    const { layout } = layoutFor(this.device, W);
    this.sparseGroups = passes.map((pass, k) =>
      this.device.createBindGroup({
        label: `${this.model.name} sparse values pass ${k}`,
        layout,
        entries: [
          { binding: UNIFORM_BINDING, resource: { buffer: uniform, offset: 0, size: this.uniformSize } },
          ...STORAGE_BINDINGS.map((b) => ({ binding: b.binding, resource: { buffer: this.buffers.get(b.role) ?? this.ensure(b.role, 4) } })),
          ...Array.from({ length: W - 1 }, (_, slot) => {
            const w = pass[slot];
            if (!w) return { binding: FIRST_HESSIAN_BINDING + slot, resource: { buffer: spare(slot) } };
            const buffer = parts[w.part]!;
            return { binding: FIRST_HESSIAN_BINDING + slot, resource: { buffer, offset: w.offset * 4, size: Math.min(buffer.size - w.offset * 4, Math.max(16, w.len * 4)) } };
          }),
          { binding: FIRST_HESSIAN_BINDING + W - 1, resource: { buffer: this.buffers.get('pattern')! } },
        ],
      }),
    );
  }
  private sparseUniform: GPUBuffer | null = null;
  private sparseParts: GPUBuffer[] | null = null;

  private createBuffer(what: string, bytes: number, usage: number): GPUBuffer {
    this.device.pushErrorScope('out-of-memory');
    const b = this.device.createBuffer({ label: `${this.model.name}.${what}`, size: Math.ceil(bytes / 4) * 4, usage });
    void this.device.popErrorScope().then((e) => {
      if (e) this.lost = `out of memory allocating ${bytes} bytes for ${what}: ${e.message}`;
    });
    return b;
  }

  private ensureBytes(role: Role | 'uniform' | 'pattern' | `spare${number}`, bytes: number, usage: number): GPUBuffer {
    const have = this.buffers.get(role);
    if (have && have.size >= bytes) return have;
    const lim = this.device.limits;
    if (bytes > lim.maxBufferSize || (role !== 'uniform' && bytes > lim.maxStorageBufferBindingSize)) {
      const limit = bytes > lim.maxBufferSize ? `maxBufferSize ${lim.maxBufferSize}` : `maxStorageBufferBindingSize ${lim.maxStorageBufferBindingSize}`;
      throw new RangeError(
        `hessgen ${this.model.name}: the ${role} buffer needs ${bytes} bytes, over the device's ${limit} (request the adapter's limits, e.g. with requestDevice from hessgen/runtime, or use fewer problems)`,
      );
    }
    have?.destroy();
    const b = this.createBuffer(role, bytes, usage);
    this.buffers.set(role, b);
    if (role === 'uniform') this.uniformHolds = null;
    this.groups = [];
    this.sparseGroups = [];
    return b;
  }

  private write(role: Role, values: Float32Array): void {
    const b = this.ensure(role, values.length);
    if (values.length > 0) this.device.queue.writeBuffer(b, 0, values.buffer, values.byteOffset, values.byteLength);
  }

  /** One bind group per pass over the Hessian: its windows, and a small spare buffer in unused slots. */
  private bindGroups(passes: readonly HessianStore['windows'][]): void {
    const key = passes.map((p) => p.map((w) => `${w.part}:${w.offset}:${w.len}`).join(',')).join('|');
    if (this.groups.length === passes.length && this.groupsKey === key && this.uniformBound === this.buffers.get('uniform')) return;
    this.groupsKey = key;
    const parts = this.hess!.parts;
    const uniform = this.buffers.get('uniform') ?? this.ensureBytes('uniform', 256, UNIFORM | COPY_DST);
    this.uniformBound = uniform;
    // (Writable bindings of one group must not overlap: unused window slots get their own buffer.)
    const spare = (slot: number) => this.ensureBytes(`spare${slot}`, 16, STORAGE);
    const { layout } = layoutFor(this.device, this.plan.hessianWindows);
    this.groups = passes.map((pass, k) =>
      this.device.createBindGroup({
        label: `${this.model.name} Hessian pass ${k}`,
        layout,
        entries: [
          { binding: UNIFORM_BINDING, resource: { buffer: uniform, offset: 0, size: this.uniformSize } },
          ...STORAGE_BINDINGS.map((b) => ({ binding: b.binding, resource: { buffer: this.buffers.get(b.role) ?? this.ensure(b.role, 4) } })),
          ...Array.from({ length: this.plan.hessianWindows }, (_, slot) => {
            const w = pass[slot];
            if (!w) return { binding: FIRST_HESSIAN_BINDING + slot, resource: { buffer: spare(slot) } };
            const buffer = parts[w.part]!;
            return { binding: FIRST_HESSIAN_BINDING + slot, resource: { buffer, offset: w.offset * 4, size: Math.min(buffer.size - w.offset * 4, Math.max(16, w.len * 4)) } };
          }),
        ],
      }),
    );
  }

  /** The Hessian (all problems) back on the CPU, part by part. */
  private async readHessian(out?: Float32Array): Promise<Float32Array> {
    const h = this.hess!;
    const result = this.output('hessian', h.length, out);
    for (let k = 0; k < h.parts.length; k++) {
      const start = k * h.partLen;
      await this.copyOut(h.parts[k]!, result.subarray(start, Math.min(h.length, start + h.partLen)));
    }
    return result;
  }

  /** `elements` floats of a buffer back into `out` (or a new array). */
  private async readInto(role: Role, elements: number, out?: Float32Array): Promise<Float32Array> {
    const result = out ?? new Float32Array(elements);
    await this.copyOut(this.buffers.get(role)!, result);
    return result;
  }

  /** Copies `elements` floats of an output back to the CPU. */
  private async read(role: Role, elements: number): Promise<Float32Array> {
    const result = new Float32Array(elements);
    await this.copyOut(this.buffers.get(role)!, result);
    return result;
  }

  private output(what: string, elements: number, out?: Float32Array): Float32Array {
    if (out !== undefined && (!(out instanceof Float32Array) || out.length !== elements)) {
      throw new RangeError(`${what} output: expected a Float32Array of length ${elements}, got ${out instanceof Float32Array ? `length ${out.length}` : typeof out}`);
    }
    return out ?? new Float32Array(elements);
  }

  /** Fills `result` from the start of a GPU buffer through a (reused) staging buffer. */
  private async copyOut(source: GPUBuffer, result: Float32Array): Promise<void> {
    const elements = result.length;
    if (elements === 0) return;
    const bytes = elements * 4;
    const staging = this.staging.pop();
    const s = staging && staging.size >= bytes ? staging : this.device.createBuffer({ label: `${this.model.name}.readback`, size: bytes, usage: MAP_READ | COPY_DST });
    if (staging && s !== staging) staging.destroy();
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(source, 0, s, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await s.mapAsync(MAP_MODE_READ, 0, bytes);
    result.set(new Float32Array(s.getMappedRange(0, bytes)));
    s.unmap();
    if (!this.destroyed) this.staging.push(s);
    else s.destroy();
  }
}
