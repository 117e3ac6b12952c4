// The names of a model: what each one is, where it was defined, and which are visible where.
import type { Node } from '../2-ir/graph.ts';
import type { Expr } from './expressions.ts';
import type { Statement } from './source.ts';

interface Defined {
  /** Index of the defining statement: a name is visible to statements after it. */
  readonly order: number;
  readonly line: number;
}

export type Entry =
  /** size null: symbolic, given at run time. */
  | (Defined & { readonly kind: 'dim'; readonly size: number | null })
  /** value null: the const's definition had an error. */
  | (Defined & { readonly kind: 'const'; readonly value: number | null })
  /** node null: the definition had an error (its uses are not reported again). */
  | (Defined & { readonly kind: 'data' | 'param' | 'def'; readonly node: Node | null })
  | (Defined & {
      readonly kind: 'function';
      readonly params: readonly string[] | null;
      readonly body: Expr | null;
      readonly stmt: Statement;
    })
  /** A statement that could not be read; its name is known but nothing else. */
  | (Defined & { readonly kind: 'broken' });

export class Scope {
  // Maps, not objects: user names such as `constructor` must not meet Object.prototype.
  private readonly entries = new Map<string, Entry>();
  private readonly everywhere = new Map<string, Defined>();

  /** Records, ahead of checking, every name the file defines (for "defined later" messages). */
  announce(name: string, order: number, line: number): void {
    if (!this.everywhere.has(name)) this.everywhere.set(name, { order, line });
  }

  define(name: string, entry: Entry): void {
    this.entries.set(name, entry);
  }

  /** The entry of `name` if it is defined (anywhere so far), regardless of visibility. */
  existing(name: string): Entry | undefined {
    return this.entries.get(name);
  }

  /** The entry of `name` as seen by code written before statement `visibleBefore`. */
  get(name: string, visibleBefore: number): Entry | undefined {
    const e = this.entries.get(name);
    return e && e.order < visibleBefore ? e : undefined;
  }

  /** Where `name` is defined when that is not before statement `visibleBefore`. */
  laterDefinition(name: string, visibleBefore: number): Defined | null {
    const d = this.everywhere.get(name);
    return d && d.order >= visibleBefore ? d : null;
  }

  /** Names visible before statement `visibleBefore`, optionally only those of some kinds. */
  visibleNames(visibleBefore: number, kinds?: readonly Entry['kind'][]): string[] {
    const out: string[] = [];
    for (const [name, e] of this.entries) {
      if (e.order < visibleBefore && (!kinds || kinds.includes(e.kind))) out.push(name);
    }
    return out;
  }
}

/** `a param [3, 8]`, `a dim`, ... for messages. */
export function describeEntry(e: Entry): string {
  switch (e.kind) {
    case 'dim':
      return e.size === null ? 'a dimension known only at run time' : `a dimension (${e.size})`;
    case 'const':
      return 'a const';
    case 'data':
      return 'data';
    case 'param':
      return 'a param';
    case 'def':
      return 'a definition';
    case 'function':
      return 'a function';
    case 'broken':
      return 'a name whose definition has an error';
  }
}
