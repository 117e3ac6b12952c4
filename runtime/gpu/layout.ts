// The contract between the WGSL the compiler writes (compiler/6-emit/wgsl.ts) and the engine
// that runs it (./engine.ts): bindings, workgroup shapes and the uniform fields. Both sides
// import this one module, so that neither can drift from the other.

/** Binding 0: each dispatch's uniform record (a `Params` struct, dynamic offset). */
export const UNIFORM_BINDING = 0;

/** The storage bindings after it, in order: role, binding number, WGSL access mode. */
export const STORAGE_BINDINGS = [
  { role: 'theta', binding: 1, access: 'read' },
  { role: 'data', binding: 2, access: 'read' },
  { role: 'temp', binding: 3, access: 'read_write' },
  { role: 'value', binding: 4, access: 'read_write' },
  { role: 'gradient', binding: 5, access: 'read_write' },
] as const;
export type StorageRole = (typeof STORAGE_BINDINGS)[number]['role'];

/**
 * Windows of the Hessian bound at once, from binding FIRST_HESSIAN_BINDING on (with the five
 * above, WebGPU's default 8 storage buffers). A Hessian within three bindings is written in one
 * pass; a larger one in passes of three windows.
 */
export const HESSIAN_WINDOWS = 3;
export const FIRST_HESSIAN_BINDING = 6;

/** Threads per workgroup of a plain dispatch. */
export const WORKGROUP = 64;
/** Tiled matrix products: TILE × TILE outputs per workgroup (16 × 16 threads, 4 × 4 each), TILE_K deep per step. */
export const TILE = 64;
export const TILE_K = 16;
/** Invocations per workgroup of a tiled dispatch. */
export const TILED_INVOCATIONS = 256;

/** Most units in one merged dispatch (each boundary is a uniform field). */
export const MAX_UNITS = 32;

// ---- uniform fields ------------------------------------------------------------------------------
// Every field is 32 bits; these three are u32, the rest i32. A shader's Params struct holds the
// fields it reads, in the canonical order of `uniformFields`; the engine fills each dispatch's
// record in the order the plan lists for it.

/** Fields the engine sets per dispatch. */
export const DISPATCH_FIELDS = ['total', 'threads', 'grid_x', 'first', 'win_start', 'win_len', 'win_span'] as const;
export type DispatchField = (typeof DISPATCH_FIELDS)[number];
/** θ's stride between problems (0 when all share one θ). */
export const THETA_STRIDE_FIELD = 'st_theta';
export const U32_FIELDS: ReadonlySet<string> = new Set(['total', 'threads', 'grid_x']);

/** Problems × threads of unit k of a merged dispatch (where its threads end). */
export const partField = (k: number): string => `part${k}`;
/** The run-time size of a symbolic dimension. */
export const dimField = (dim: string): string => `dim_${dim}`;
/** Data array k: its offset in the data buffer and its stride between problems. */
export const dataOffsetField = (k: number): string => `off_d${k}`;
export const dataStrideField = (k: number): string => `st_d${k}`;
/** Workspace k: its offset in the workspace buffer and its stride between problems. */
export const tempOffsetField = (k: number): string => `off_t${k}`;
export const tempStrideField = (k: number): string => `st_t${k}`;

/** Every uniform field a model's shaders may read, in canonical order. */
export function uniformFields(dims: readonly string[], dataCount: number, tempCount: number): string[] {
  return [
    ...DISPATCH_FIELDS,
    THETA_STRIDE_FIELD,
    ...Array.from({ length: MAX_UNITS }, (_, k) => partField(k)),
    ...dims.map(dimField),
    ...Array.from({ length: dataCount }, (_, k) => [dataOffsetField(k), dataStrideField(k)]).flat(),
    ...Array.from({ length: tempCount }, (_, k) => [tempOffsetField(k), tempStrideField(k)]).flat(),
  ];
}
