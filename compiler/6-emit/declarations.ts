// TypeScript module -> its declaration file (`.d.ts`), for `--emit js` and the typed imports of
// `.hess` files (`net.d.hess.ts`).
//
// The declarations are cut from the very module the emitters wrote, so they cannot drift from it:
// interfaces, type aliases and imports stay as they are; an exported function keeps its signature
// and loses its body; an exported constant keeps its annotated type and loses its value; what is
// not exported (kernels, the workspace) is left out. Every exported function and constant of a
// generated module carries its type explicitly (TypeScript's isolatedDeclarations discipline);
// one without throws here. test/cli/emit-js.test.ts checks that the declarations type a consumer
// exactly as the TypeScript module does.

import { TokenView, EraseError } from './erase-types.ts';

export interface DeclarationOptions {
  /** The text placed before the declarations (after the module's own header comment). */
  readonly banner?: string;
}

export function declarationsOf(src: string, options: DeclarationOptions = {}): string {
  const v: TokenView = new TokenView(src);
  const { toks } = v;
  const out: string[] = [];
  // Declarations that are not exported are kept only when an exported one mentions them.
  const internal: { name: string; text: string; slot: number }[] = [];
  // The header: the comment lines before the first token.
  const first = toks[0];
  const header = src.slice(0, first?.start ?? src.length).trimEnd();
  if (header !== '') out.push(header, '');
  if (options.banner !== undefined) out.push(options.banner, '');

  let k = 0;
  let lastEnd = first?.start ?? 0;
  while (k < toks.length) {
    const start = toks[k]!.start;
    const doc = docComment(src, lastEnd, start);
    const exported = v.is(k, 'export');
    const at = exported ? k + 1 : k;
    const word = v.text(at);
    let end: number;
    let text: string | undefined;
    if (word === 'import' || (exported && v.is(at, '{')) || (exported && word === 'type' && v.is(at + 1, '{'))) {
      end = untilSemicolon(v, at);
      text = src.slice(start, toks[end - 1]!.end);
    } else if (word === 'interface') {
      let brace = at;
      while (!v.is(brace, '{')) brace = v.is(brace, '<') ? v.skipTypeArguments(brace) : brace + 1;
      end = v.close(brace) + 1;
      if (v.is(end, ';')) end++;
      text = src.slice(start, toks[end - 1]!.end);
    } else if (word === 'type') {
      end = untilSemicolon(v, at);
      text = src.slice(start, toks[end - 1]!.end);
    } else if (word === 'function' || (word === 'async' && v.is(at + 1, 'function'))) {
      let p = word === 'async' ? at + 2 : at + 1;
      if (v.is(p, '*')) v.fail(p, 'generator functions are not declared');
      const name = toks[p];
      if (name?.kind !== 'id') v.fail(p, 'expected a function name');
      p++;
      if (v.is(p, '<')) p = v.skipTypeArguments(p);
      if (!v.is(p, '(')) v.fail(p, "expected '('");
      const close = v.close(p);
      if (!v.is(close + 1, ':')) v.fail(close + 1, `exported function ${name.text} has no return type`);
      const returnEnd = v.skipType(close + 2);
      if (!v.is(returnEnd, '{')) v.fail(returnEnd, "expected the function's body");
      end = v.close(returnEnd) + 1;
      if (exported) {
        const typeParams = src.slice(name.end, toks[p]!.start);
        text = `export declare function ${name.text}${typeParams}(${paramsText(v, p, close)})${src.slice(toks[close]!.end, toks[returnEnd - 1]!.end)};`;
      }
    } else if (word === 'const' || word === 'let' || word === 'var') {
      const name = toks[at + 1];
      if (name?.kind !== 'id') v.fail(at + 1, 'expected a single name');
      end = untilSemicolon(v, at);
      if (exported) {
        if (!v.is(at + 2, ':')) v.fail(at + 2, `exported constant ${name.text} has no type annotation`);
        const typeEnd = v.skipType(at + 3);
        if (!v.is(typeEnd, '=') && !v.is(typeEnd, ';')) v.fail(typeEnd, 'expected one declarator');
        text = `export declare const ${name.text}${src.slice(name.end, toks[typeEnd - 1]!.end)};`;
      }
    } else {
      v.fail(k, `unexpected top-level statement '${word}' in a generated module`);
    }
    if (text !== undefined) {
      if (!exported && (word === 'interface' || word === 'type')) {
        internal.push({ name: v.text(at + 1), text: [...(doc !== '' ? [doc] : []), text].join('\n'), slot: out.length });
        out.push('');
      } else out.push(...(doc !== '' && (exported || word === 'interface' || word === 'type') ? [doc] : []), text, '');
    }
    lastEnd = toks[end - 1]!.end;
    k = end;
  }
  // Fill in the internal declarations that the kept text mentions (repeat: they may mention each other).
  const kept = new Set<number>();
  for (let changed = true; changed; ) {
    changed = false;
    const text = out.join('\n');
    for (const d of internal) {
      if (kept.has(d.slot) || !new RegExp(`\\b${d.name.replace(/\$/g, '\\$')}\\b`).test(text)) continue;
      out[d.slot] = `${d.text}\n`;
      kept.add(d.slot);
      changed = true;
    }
  }
  const lines = out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd();
  return lines + '\n';
}

/** The parameter list between the parentheses at open/close, default values turned into `?`. */
function paramsText(v: TokenView, open: number, close: number): string {
  const parts: string[] = [];
  let at = open + 1;
  while (at < close) {
    let end = at;
    let eq = -1;
    while (end < close && !v.is(end, ',')) {
      if (v.is(end, '=') && eq < 0) eq = end;
      end = v.is(end, '(') || v.is(end, '[') || v.is(end, '{') ? v.close(end) + 1 : end + 1;
    }
    const from = v.toks[at]!.start;
    if (eq < 0) parts.push(v.src.slice(from, v.toks[end - 1]!.end));
    else {
      // `x: T = d` declares as `x?: T`.
      const colon = v.is(at + 1, ':') ? at + 1 : -1;
      if (colon < 0) v.fail(at, 'a parameter with a default value needs a type');
      parts.push(`${v.toks[at]!.text}?${v.src.slice(v.toks[colon]!.start, v.toks[eq - 1]!.end)}`);
    }
    at = end + 1;
  }
  return parts.join(', ');
}

function untilSemicolon(v: TokenView, k: number): number {
  let at = k;
  while (at < v.toks.length && !v.is(at, ';')) at = v.is(at, '(') || v.is(at, '[') || v.is(at, '{') ? v.close(at) + 1 : at + 1;
  if (at >= v.toks.length) throw new EraseError("expected ';'", v.src, v.toks[k]!.start);
  return at + 1;
}

/** The `/** … *\/` comment directly above a statement (nothing else between them), or ''. */
function docComment(src: string, from: number, to: number): string {
  const between = src.slice(from, to);
  const m = /\/\*\*[\s\S]*?\*\/\s*$/.exec(between);
  if (m === null) return '';
  const text = m[0].trimEnd();
  return text.includes('\n\n') ? '' : text;
}
