// A tiny WebAssembly binary encoder: just what the dense kernels need (one memory, functions
// with i32/f64/v128 locals, structured control flow, scalar and SIMD instructions). It writes the
// binary format of the WebAssembly 2.0 core specification directly; no toolchain involved.

export type ValType = 'i32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit values). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/**
 * The body of one function. Locals are named; instructions are appended by the methods below
 * (each returns `this`, so that a body reads top to bottom like the text format).
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly locals = new Map<string, { index: number; type: ValType }>();
  private readonly declared: ValType[] = [];
  constructor(
    readonly name: string,
    readonly params: readonly [string, ValType][],
    readonly results: readonly ValType[] = [],
  ) {
    params.forEach(([n, t], k) => this.locals.set(n, { index: k, type: t }));
  }
  /** Declares a local (after the parameters). */
  local(name: string, type: ValType): this {
    if (this.locals.has(name)) throw new Error(`wasm: local ${name} declared twice in ${this.name}`);
    this.locals.set(name, { index: this.params.length + this.declared.length, type });
    this.declared.push(type);
    return this;
  }
  private idx(name: string): number {
    const l = this.locals.get(name);
    if (!l) throw new Error(`wasm: unknown local ${name} in ${this.name}`);
    return l.index;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  get(name: string): this {
    return this.op(0x20, ...uleb(this.idx(name)));
  }
  set(name: string): this {
    return this.op(0x21, ...uleb(this.idx(name)));
  }
  tee(name: string): this {
    return this.op(0x22, ...uleb(this.idx(name)));
  }
  i32(v: number): this {
    return this.op(0x41, ...sleb(v));
  }
  f64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return this.op(0x44, ...b);
  }
  call(index: number): this {
    return this.op(0x10, ...uleb(index));
  }
  /** SIMD instruction: prefix 0xfd, then the opcode as LEB128, then immediates. */
  simd(opcode: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...imm);
  }
  /** local[name] += step (i32). */
  inc(name: string, step: number | string): this {
    this.get(name);
    if (typeof step === 'number') this.i32(step);
    else this.get(step);
    return this.op(I32.add).set(name);
  }
  /** `block { loop { <cond> br_if 1 (exit); body; br 0 } }` with cond computed by `exitIf`. */
  loop(exitIf: (f: this) => void, body: (f: this) => void): this {
    this.op(0x02, 0x40, 0x03, 0x40);
    exitIf(this);
    this.op(0x0d, 1);
    body(this);
    return this.op(0x0c, 0, 0x0b, 0x0b);
  }
  /** `if (cond on the stack) { then } else { otherwise }`. */
  ifElse(then: (f: this) => void, otherwise?: (f: this) => void): this {
    this.op(0x04, 0x40);
    then(this);
    if (otherwise) {
      this.op(0x05);
      otherwise(this);
    }
    return this.op(0x0b);
  }
  /** The encoded body: locals (run-length grouped by type) and instructions. */
  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.declared) {
      const last = groups[groups.length - 1];
      if (last && last[1] === VALTYPE[t]) last[0]!++;
      else groups.push([1, VALTYPE[t]]);
    }
    const body = [...uleb(groups.length), ...groups.flatMap(([count, type]) => [...uleb(count!), type!]), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** Opcodes used by the kernels (names as in the text format). */
export const I32 = { add: 0x6a, sub: 0x6b, mul: 0x6c, eqz: 0x45, eq: 0x46, ne: 0x47, ltS: 0x48, gtS: 0x4a, leS: 0x4c, geS: 0x4e, and: 0x71, or: 0x72, shl: 0x74 } as const;
export const F64 = { load: 0x2b, store: 0x39, add: 0xa0, mul: 0xa2 } as const;
export const V128 = { load: 0x00, load64Splat: 0x0a, store: 0x0b, const: 0x0c, shuffle: 0x0d, f64x2Splat: 0x14, f64x2ExtractLane: 0x21, f64x2Add: 0xf0, f64x2Mul: 0xf2 } as const;
/** Memory immediate: alignment (log2 bytes) and offset. */
export const memarg = (alignLog2: number, offset = 0): number[] => [alignLog2, ...uleb(offset)];

/** A module with one exported memory (minimum `pages` of 64 KiB, growable) and exported functions. */
export function encodeModule(functions: readonly FunctionBuilder[], memory: { pages: number; exportName: string }): Uint8Array {
  const sigKey = (f: FunctionBuilder) => `${f.params.map(([, t]) => t).join(',')}->${f.results.join(',')}`;
  const sigs: string[] = [];
  const sigOf = functions.map((f) => {
    const key = sigKey(f);
    if (!sigs.includes(key)) sigs.push(key);
    return sigs.indexOf(key);
  });
  const types = sigs.map((key) => {
    const [ps, rs] = key.split('->') as [string, string];
    const list = (s: string) => (s === '' ? [] : s.split(',').map((t) => VALTYPE[t as ValType]));
    return [0x60, ...vec(list(ps).map((b) => [b])), ...vec(list(rs).map((b) => [b]))];
  });
  const exports = [
    [...vec(utf8(memory.exportName).map((b) => [b])), 0x02, 0],
    ...functions.map((f, k) => [...vec(utf8(f.name).map((b) => [b])), 0x00, ...uleb(k)]),
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(sigOf.map((s) => uleb(s)))),
    ...section(5, vec([[0x00, ...uleb(memory.pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(functions.map((f) => f.encode()))),
  ]);
}
