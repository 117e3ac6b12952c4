// Formulas in index notation for people: `H[W1,b1][i,j,k] = Σ_n X[n,i]·tanh′(t1[n,j]) …`.
// One-based indices as in the language; Kronecker δ's shown as δ(j,l); restricted ranges as
// Iverson brackets [i ≥ 2]; tensors named after the model's definitions where one matches,
// otherwise t1, t2, … with their own definitions listed once ("where").

import { fnSymbol } from '../2-ir/functions.ts';
import type { Dim } from '../2-ir/graph.ts';
import type { Affine, Formula, MapFn, TNode, Term, Var } from '../2-ir/index-form.ts';

const SUPERSCRIPT: Readonly<Record<string, string>> = { '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '-': '⁻' };
const sup = (k: number): string => (Number.isInteger(k) && Math.abs(k) < 1e6 ? String(k).split('').map((c) => SUPERSCRIPT[c] ?? c).join('') : `^${fmtNum(k)}`);

export function fmtNum(x: number): string {
  return String(Number(x.toPrecision(10)));
}

const SUM_LETTERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'm', 'o', 'p', 'q', 'r', 's', 'u', 'v', 'w', 'z'];
const OUT_LETTERS = ['i', 'j', 'k', 'l'];

export class Notation {
  /** Names of nodes: the model's definitions first, then t1, t2, … as formulas reference them. */
  private readonly names = new Map<TNode, string>();
  private readonly taken: Set<string>;
  private nextTemp = 1;
  /** Auxiliary tensors named here, in order of first reference, with their definitions once rendered. */
  private readonly pending: TNode[] = [];
  readonly where: { name: string; formula: string }[] = [];

  constructor(definitions: ReadonlyMap<TNode, string>, modelNames: Iterable<string>) {
    for (const [node, name] of definitions) this.names.set(node, name);
    this.taken = new Set(modelNames);
  }

  private nameOf(node: TNode): string {
    if (node.kind === 'param' || node.kind === 'data' || node.kind === 'dim') return node.name;
    let name = this.names.get(node);
    if (name === undefined) {
      do name = `t${this.nextTemp++}`;
      while (this.taken.has(name));
      this.names.set(node, name);
      this.pending.push(node);
    }
    return name;
  }

  /** Renders the definitions of the auxiliary tensors named so far (and of those they name). */
  flushWhere(): void {
    while (this.pending.length > 0) {
      const node = this.pending.shift()!;
      const name = this.names.get(node)!;
      const letters = this.tensorLetters(node.shape);
      const head = node.shape.length ? `${name}[${letters.join(',')}]` : name;
      if (node.kind === 'poly') this.where.push({ name, formula: `${head} = ${this.formula(node.formula, letters, numericShape(node.shape)).join(' ')}` });
      else if (node.kind === 'max') {
        const arg = node.arg;
        const argLetters = this.tensorLetters(arg.shape);
        const kept = node.axis === null ? [] : argLetters.filter((_, k) => k !== node.axis);
        const over = node.axis === null ? argLetters : [argLetters[node.axis]!];
        const lhs = kept.length ? `${name}[${kept.join(',')}]` : name;
        this.where.push({ name, formula: `${lhs} = max_${over.join(',')} ${this.access(arg, argLetters)}` });
      } else if (node.kind === 'map') {
        this.where.push({ name, formula: `${head} = ${this.mapText(node.fn, this.access(node.arg, letters))}` });
      }
    }
  }

  /** Letters for the axes of a tensor: a run-time dimension's own name in lower case, else i, j, …. */
  private tensorLetters(shape: readonly Dim[]): string[] {
    const used = new Set<string>();
    return shape.map((d) => {
      const own = typeof d === 'string' ? d.toLowerCase() : null;
      const pick = own && /^[a-z]$/.test(own) && !used.has(own) && !this.taken.has(own) ? own : OUT_LETTERS.find((l) => !used.has(l) && !this.taken.has(l)) ?? `i${used.size}`;
      used.add(pick);
      return pick;
    });
  }

  private access(node: TNode, idx: readonly string[]): string {
    // A short scalar formula reads better in place than as a name defined elsewhere.
    if (node.kind === 'poly' && node.shape.length === 0 && !this.names.has(node) && node.formula.terms.length === 1) {
      const text = this.formula(node.formula, [], [])[0]!;
      if ([...text].length <= 16) return /^[\w.]+$/.test(text) ? text : `(${text})`;
    }
    const name = this.nameOf(node);
    return node.shape.length ? `${name}[${idx.join(',')}]` : name;
  }

  private mapText(fn: MapFn, arg: string): string {
    if (fn.name === 'pow') {
      const p = fn.p;
      if (p === 0.5) return `√${arg}`;
      if (p === -0.5) return `1/√${arg}`;
      if (p < 0) return p === -1 ? `1/${arg}` : `1/${arg}${sup(-p)}`;
      return `${arg}${sup(p)}`;
    }
    return `${fnSymbol(fn.name)}(${arg})`;
  }

  /**
   * A formula over output letters `out` (axis sizes `sizes`, for deciding which range limits
   * to show): one string per term, the first without a leading `+`.
   */
  formula(f: Formula, out: readonly string[], sizes: readonly number[]): string[] {
    if (f.terms.length === 0) return ['0'];
    return f.terms.map((t, k) => {
      const text = this.term(t, out, sizes);
      if (k === 0) return text.startsWith('−') ? `−${text.slice(1).trimStart()}` : text;
      return text.startsWith('−') ? `− ${text.slice(1).trimStart()}` : `+ ${text}`;
    });
  }

  private term(t: Term, out: readonly string[], sizes: readonly number[]): string {
    const expr = new Map<Var, { letter: string; shift: number; size?: number | undefined }>(); // v = letter + shift
    const conditions: string[] = [];
    const deltas: string[] = [];
    const natural = new Map<Var, [number, number]>();
    t.out.forEach((a, k) => {
      const letter = out[k]!;
      // On an axis of size 1 every index is 1: no δ to tell.
      if (a.v === null) {
        if (sizes[k] !== 1) deltas.push(`δ(${letter},${a.c + 1})`);
        return;
      }
      const size = sizes[k];
      if (size !== undefined) {
        const nat: [number, number] = [-a.c, size - a.c];
        const cur = natural.get(a.v);
        natural.set(a.v, cur ? [Math.max(cur[0], nat[0]), Math.min(cur[1], nat[1])] : nat);
      }
      const e = expr.get(a.v);
      if (!e) expr.set(a.v, { letter, shift: -a.c, size });
      else if (size !== 1 || e.size !== 1) deltas.push(e.shift + a.c === 0 ? `δ(${e.letter},${letter})` : `δ(${letter},${shifted(e.letter, e.shift + a.c)})`);
    });
    for (const [v, e] of expr) {
      const r = t.ranges.get(v);
      const nat = natural.get(v);
      if (!r || !nat || typeof r.hi !== 'number') continue;
      // v in [lo, hi) ⇔ letter (one-based) in [lo − shift + 1, hi − shift]
      const lo = r.lo > nat[0] ? r.lo - e.shift + 1 : null;
      const hi = r.hi < nat[1] ? r.hi - e.shift : null;
      if (lo !== null && hi !== null) conditions.push(`[${lo} ≤ ${e.letter} ≤ ${hi}]`);
      else if (lo !== null) conditions.push(`[${e.letter} ≥ ${lo}]`);
      else if (hi !== null) conditions.push(`[${e.letter} ≤ ${hi}]`);
    }
    // Summed (and any other) variables get letters of their own.
    const used = new Set<string>([...out, ...this.taken]);
    const sumText: string[] = [];
    const letterOf = (v: Var, dim: Dim | undefined): string => {
      const own = typeof dim === 'string' ? dim.toLowerCase() : null;
      const pick = own && /^[a-z]$/.test(own) && !used.has(own) ? own : SUM_LETTERS.find((l) => !used.has(l)) ?? `s${v}`;
      used.add(pick);
      return pick;
    };
    const allSums = [...t.sums, ...[...t.ranges.keys()].filter((v) => !expr.has(v) && !t.sums.includes(v))];
    // A sum over an index no factor reads is a count: a number, or a run-time size.
    const read = (v: Var) => t.factors.some((f) => f.idx.some((a) => a.v === v));
    let countCoef = 1;
    const counts: string[] = [];
    for (const v of allSums.filter((x) => !read(x))) {
      const r = t.ranges.get(v)!;
      if (typeof r.hi === 'number') countCoef *= r.hi - r.lo;
      else counts.push(r.lo === 0 ? r.hi : `(${r.hi}−${r.lo})`);
    }
    const sumVars = allSums.filter(read);
    for (const v of sumVars) {
      const r = t.ranges.get(v)!;
      const letter = letterOf(v, r.hi);
      expr.set(v, { letter, shift: 0 });
      // The sum's natural range: what the axes it indexes allow.
      let nat: [number, number | string] | null = null;
      for (const f of t.factors)
        f.idx.forEach((a, k) => {
          if (a.v !== v) return;
          const d = f.node.shape[k]!;
          if (typeof d === 'string') nat = nat ?? [0, d];
          else nat = nat && typeof nat[1] === 'number' ? [Math.max(nat[0], -a.c), Math.min(nat[1], d - a.c)] : nat ?? [-a.c, d - a.c];
        });
      const full = nat !== null && (nat as [number, number | string])[0] <= r.lo && (nat as [number, number | string])[1] === r.hi;
      sumText.push(full ? letter : `${letter}=${r.lo + 1}..${r.hi}`);
    }
    const idxText = (a: Affine): string => {
      if (a.v === null) return String(a.c + 1);
      const e = expr.get(a.v)!;
      return shifted(e.letter, e.shift + a.c);
    };
    // Factors that do not depend on a summed index go before the Σ; equal factors become powers.
    const summed = new Set(sumVars);
    const outside: string[] = [];
    const inside: string[] = [];
    const ordered = [...t.factors.filter((f) => f.node.shape.length === 0), ...t.factors.filter((f) => f.node.shape.length > 0)];
    for (const f of ordered) {
      const node = f.node;
      const idx = f.idx.map(idxText);
      const text = node.kind === 'map' && !this.names.has(node) ? this.mapText(node.fn, this.access(node.arg, idx)) : this.access(node, idx);
      (f.idx.some((a) => a.v !== null && summed.has(a.v)) ? inside : outside).push(text);
    }
    const powers = (list: readonly string[]): string[] => {
      const count = new Map<string, number>();
      for (const r of list) count.set(r, (count.get(r) ?? 0) + 1);
      return [...count].map(([r, p]) => (p === 1 ? r : `${/^[\w.]+(\[[^\]]*\])?$/.test(r) ? r : `(${r})`}${sup(p)}`));
    };
    const parts: string[] = [];
    const mag = Math.abs(t.coef) * countCoef;
    outside.push(...counts);
    if (mag !== 1 || (outside.length === 0 && inside.length === 0)) parts.push(fmtNum(mag));
    for (const f of powers(outside)) {
      // c·1/x reads as c/x.
      const last = parts[parts.length - 1];
      if (f.startsWith('1/') && last !== undefined && /^[\d.]+$/.test(last)) parts[parts.length - 1] = `${last}/${f.slice(2)}`;
      else parts.push(f);
    }
    if (sumText.length) {
      const sub = sumText.length > 1 || sumText[0]!.includes('=') ? `{${sumText.join(',')}}` : sumText[0]!;
      parts.push(`Σ_${sub} ${inside.length ? powers(inside).join('·') : '1'}`);
    }
    parts.push(...deltas, ...conditions);
    const text = parts.join('·');
    return `${t.coef < 0 ? '−' : ''}${text}`;
  }
}

function shifted(letter: string, c: number): string {
  return c === 0 ? letter : `${letter}${c > 0 ? '+' : '−'}${Math.abs(c)}`;
}

function numericShape(shape: readonly Dim[]): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : Number.POSITIVE_INFINITY));
}
