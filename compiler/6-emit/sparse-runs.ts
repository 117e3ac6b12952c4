// hessianSparse in the TypeScript target: where the stores of the Hessian and their order are
// fixed (no run-time dims), the first call finds each store's CSR slot (a binary search in its
// row) and records it; later calls replay the recording. Stores in a "run loop" (the innermost
// loop around them) are recorded as runs: ranges of the loop variable over which each store's
// slot moves by a constant step (δ and band terms: one run, or a few at the ends of a band; a
// dense block's row: one run per row). Replayed, such a loop reads one record per run and keeps
// each slot in a counter, so a store costs what the dense Hessian's store costs. Any other store
// reads its slot from the recording, one Int32 each.

import type { Stmt } from '../5-lower/loops.ts';

/** Loops with Hessian stores in their body and none in loops nested inside them. */
export function findRunLoops(body: readonly Stmt[]): Set<Stmt> {
  const out = new Set<Stmt>();
  // Whether a statement list stores into the Hessian, and whether some loop inside it does.
  const visit = (sts: readonly Stmt[]): { stores: boolean; inLoop: boolean } => {
    let stores = false;
    let inLoop = false;
    for (const st of sts) {
      if ((st.k === 'store' || st.k === 'storeSym') && st.buf === 'hessian') stores = true;
      else if (st.k === 'block') {
        const r = visit(st.body);
        stores ||= r.stores;
        inLoop ||= r.inLoop;
      } else if (st.k === 'for') {
        const r = visit(st.body);
        if (r.stores && !r.inLoop) out.add(st);
        if (r.stores) inLoop = true;
      } else if (st.k === 'denseBlock' || st.k === 'pairBlock') {
        // (The sparse kernels run a dense block's loops: see typescript.ts.)
        const r = visit([st.loops]);
        stores ||= r.stores;
        inLoop ||= r.inLoop;
      } else if (st.k === 'forStep') {
        const r = visit([...st.body, ...st.rest]);
        if (r.stores) inLoop = true;
      }
    }
    return { stores, inLoop };
  };
  visit(body);
  return out;
}

/**
 * A run loop's code: replayed, one record [end, z_0 … z_{m-1}, s_0 … s_{m-1}] per run, the
 * slots zs_j stepping by ss_j per iteration (in the loop's update: a `continue` steps them too);
 * recorded, the loop as it is (its stores call observe(), which records each run as it ends),
 * then runs() records the last. `inner`: the body's lines, already indented for the form asked for.
 */
export function runLoop(v: string, from: string, to: string, m: number, inner: readonly string[], ind: string, replay: boolean): string[] {
  if (!replay) {
    return [`${ind}for (let ${v} = ${from}; ${v} < ${to}; ${v}++) {`, ...inner, `${ind}}`, `${ind}runs(${from}, ${to}, ${m});`];
  }
  const zs = Array.from({ length: m }, (_, j) => `zs${j} = SM[q + ${1 + j}]`);
  const ss = Array.from({ length: m }, (_, j) => `ss${j} = SM[q + ${1 + m + j}]`);
  const steps = Array.from({ length: m }, (_, j) => `, zs${j} += ss${j}`).join('');
  return [
    `${ind}for (let ${v} = ${from}, end = ${to}; ${v} < end; ) {`,
    `${ind}  const runEnd = SM[q];`,
    ...(m > 0 ? [`${ind}  let ${zs.join(', ')};`, `${ind}  const ${ss.join(', ')};`] : []),
    `${ind}  q += ${1 + 2 * m};`,
    `${ind}  for (; ${v} < runEnd; ${v}++${steps}) {`,
    ...inner,
    `${ind}  }`,
    `${ind}}`,
  ];
}

/** The generated helpers that record runs (observe, runs), after slot() and the recording. */
export function emitRunHelpers(line: (s?: string) => void): void {
  line('/**');
  line(' * The run loop being recorded (first call only): where its current run starts, each store\'s');
  line(' * first slot in it, at which iteration, and its step (NaN: not seen yet); the stores of the');
  line(' * current iteration. O(stores in the loop\'s body) memory, whatever the loop\'s length.');
  line(' */');
  line('const current = { start: NaN, v: NaN, v1: new Float64Array(0), k1: new Float64Array(0), step: new Float64Array(0), j: [] as number[], k: [] as number[] };');
  line();
  line('/** Store j (of m) of a run loop from `from`, at iteration v: its slot, taken into the current run. */');
  line('function observe(rowPtr: Int32Array, colIdx: Int32Array, j: number, m: number, v: number, from: number, at: number): number {');
  line('  const k = slot(rowPtr, colIdx, at);');
  line('  const R = current;');
  line('  if (Number.isNaN(R.start)) startLoop(from, m);');
  line('  if (v !== R.v) {');
  line('    R.v = v;');
  line('    R.j.length = 0;');
  line('    R.k.length = 0;');
  line('  }');
  line('  R.j.push(j);');
  line('  R.k.push(k);');
  line('  if (!takes(j, v, k)) {');
  line('    // The run ends before this iteration, which starts the next one (its stores taken again).');
  line('    endRun(v, m);');
  line('    R.start = v;');
  line('    R.v1.fill(NaN);');
  line('    R.step.fill(NaN);');
  line('    for (let i = 0; i < R.j.length; i++) takes(R.j[i]!, v, R.k[i]!);');
  line('  }');
  line('  return k;');
  line('}');
  line();
  line('function startLoop(from: number, m: number): void {');
  line('  current.start = from;');
  line('  current.v = NaN;');
  line('  current.v1 = new Float64Array(m).fill(NaN);');
  line('  current.k1 = new Float64Array(m);');
  line('  current.step = new Float64Array(m).fill(NaN);');
  line('}');
  line();
  line('/**');
  line(' * Whether store j\'s slot k at iteration v continues the current run: its first, or on the line of');
  line(' * its first two (an integer step, and its slot at the run\'s start within Int32).');
  line(' */');
  line('function takes(j: number, v: number, k: number): boolean {');
  line('  const R = current;');
  line('  if (Number.isNaN(R.v1[j]!)) {');
  line('    R.v1[j] = v;');
  line('    R.k1[j] = k;');
  line('    return true;');
  line('  }');
  line('  if (Number.isNaN(R.step[j]!)) {');
  line('    const d = (k - R.k1[j]!) / (v - R.v1[j]!);');
  line('    const z = R.k1[j]! - d * (R.v1[j]! - R.start);');
  line('    if (!Number.isInteger(d) || z < -2147483648 || z > 2147483647) return false;');
  line('    R.step[j] = d;');
  line('    return true;');
  line('  }');
  line('  return k === R.k1[j]! + R.step[j]! * (v - R.v1[j]!);');
  line('}');
  line();
  line('/**');
  line(' * The current run, up to `end`, as a record [end, z_0 … z_{m-1}, s_0 … s_{m-1}]: store j at');
  line(' * iteration v of the run has slot z_j + s_j·(v − start) (a store seen once keeps its slot).');
  line(' */');
  line('function endRun(end: number, m: number): void {');
  line('  const R = current;');
  line('  recording.push(end);');
  line('  for (let j = 0; j < m; j++) {');
  line('    const seen = !Number.isNaN(R.v1[j]!);');
  line('    const stepped = !Number.isNaN(R.step[j]!);');
  line('    recording.push(!seen ? 0 : stepped ? R.k1[j]! - R.step[j]! * (R.v1[j]! - R.start) : R.k1[j]!);');
  line('  }');
  line('  for (let j = 0; j < m; j++) recording.push(Number.isNaN(R.step[j]!) ? 0 : R.step[j]!);');
  line('}');
  line();
  line('/** A run loop over [from, to) with m stores in its body has run: its last run recorded. */');
  line('function runs(from: number, to: number, m: number): void {');
  line('  if (to > from) {');
  line('    if (Number.isNaN(current.start)) startLoop(from, m);');
  line('    endRun(to, m);');
  line('  }');
  line('  current.start = NaN;');
  line('  current.v = NaN;');
  line('}');
  line();
}
