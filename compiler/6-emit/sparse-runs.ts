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
 * recorded, the loop as it is (its stores call observe()), then runs() turns what it observed
 * into records. `inner`: the body's lines, already indented for the form asked for.
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
  line('/** What the current run loop stored: position in its body, loop variable, slot (first call only). */');
  line('const observed: { j: number[]; v: number[]; k: number[] } = { j: [], v: [], k: [] };');
  line();
  line('/** slot(), noted for the run loop around the store. */');
  line('function observe(rowPtr: Int32Array, colIdx: Int32Array, j: number, v: number, at: number): number {');
  line('  const k = slot(rowPtr, colIdx, at);');
  line('  observed.j.push(j);');
  line('  observed.v.push(v);');
  line('  observed.k.push(k);');
  line('  return k;');
  line('}');
  line();
  line('/**');
  line(' * A run loop over [from, to) with m stores in its body has run: its observations become runs');
  line(' * [end, z_0 … z_{m-1}, s_0 … s_{m-1}] (store j at iteration v of a run from `start` has slot');
  line(' * z_j + s_j·(v − start)), appended to the recording. A run ends where a store leaves its line;');
  line(' * the iteration where it does starts the next run. Records hold Int32s: a run whose values do');
  line(' * not fit is split into runs of one iteration.');
  line(' */');
  line('function runs(from: number, to: number, m: number): void {');
  line('  const { j: J, v: V, k: K } = observed;');
  line('  if (to > from) {');
  line('    const v1 = new Float64Array(m);');
  line('    const k1 = new Float64Array(m);');
  line('    const step = new Float64Array(m);');
  line('    let start = from;');
  line('    let first = 0; // the run\'s first observation');
  line('    const fits = (x: number) => x >= -2147483648 && x <= 2147483647;');
  line('    const reset = () => {');
  line('      v1.fill(NaN);');
  line('      step.fill(NaN);');
  line('    };');
  line('    const flush = (end: number, upTo: number) => {');
  line('      const z = Array.from({ length: m }, (_, j) => (Number.isNaN(v1[j]!) ? 0 : k1[j]! - (Number.isNaN(step[j]!) ? 0 : step[j]!) * (v1[j]! - start)));');
  line('      const s = Array.from({ length: m }, (_, j) => (Number.isNaN(step[j]!) ? 0 : step[j]!));');
  line('      if (z.every(fits) && s.every(fits)) {');
  line('        recording.push(end, ...z, ...s);');
  line('        return;');
  line('      }');
  line('      // One iteration per run: each slot as observed.');
  line('      let i = first;');
  line('      for (let u = start; u < end; u++) {');
  line('        const zu = new Array<number>(m).fill(0);');
  line('        for (; i < upTo && V[i] === u; i++) zu[J[i]!] = K[i]!;');
  line('        recording.push(u + 1, ...zu, ...new Array<number>(m).fill(0));');
  line('      }');
  line('    };');
  line('    reset();');
  line('    let iteration = 0; // where the current iteration\'s observations start');
  line('    for (let i = 0; i < J.length; i++) {');
  line('      const j = J[i]!;');
  line('      const v = V[i]!;');
  line('      const k = K[i]!;');
  line('      if (i > 0 && v !== V[i - 1]) iteration = i;');
  line('      let on = true;');
  line('      if (Number.isNaN(v1[j]!)) {');
  line('        v1[j] = v;');
  line('        k1[j] = k;');
  line('      } else if (Number.isNaN(step[j]!)) {');
  line('        const d = (k - k1[j]!) / (v - v1[j]!);');
  line('        if (v !== v1[j] && Number.isInteger(d)) step[j] = d;');
  line('        else on = false;');
  line('      } else on = k === k1[j]! + step[j]! * (v - v1[j]!);');
  line('      if (!on) {');
  line('        // This iteration starts a new run: its observations are read again.');
  line('        flush(v, iteration);');
  line('        start = v;');
  line('        first = iteration;');
  line('        reset();');
  line('        i = iteration - 1;');
  line('      }');
  line('    }');
  line('    flush(to, J.length);');
  line('  }');
  line('  J.length = 0;');
  line('  V.length = 0;');
  line('  K.length = 0;');
  line('}');
  line();
}
