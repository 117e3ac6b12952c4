// Compile-time arithmetic: the values of `const` and `dim H = ...` definitions and of indices.
import { applyUnary, type UnaryFn } from '../2-ir/graph.ts';
import type { Expr } from './expressions.ts';
import { BUILTIN_ARITY, arityText, isElementwise } from './names.ts';
import type { Span } from './report.ts';


export interface ConstEnv {
  /** What the value is for, completing "... must be known at compile time" style messages. */
  readonly purpose: string;
  /** The value of `end` (inside an index), if allowed here. */
  readonly end?: number;
  /** The value of a name, or null after reporting why it has none. */
  lookup(name: string, span: Span): number | null;
  error(span: Span, message: string): void;
}

/** Evaluates `e` to a finite number, or returns null after reporting. */
export function evaluateConstant(e: Expr, env: ConstEnv): number | null {
  const v = evaluate(e, env);
  if (v === null) return null;
  if (!Number.isFinite(v)) {
    env.error(e.span, `this evaluates to ${v}, not a finite number`);
    return null;
  }
  return v;
}

function evaluate(e: Expr, env: ConstEnv): number | null {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'name':
      if (e.name === 'end') {
        if (env.end !== undefined) return env.end;
        env.error(e.span, '`end` can only be used inside an index, like `x[end]`');
        return null;
      }
      return env.lookup(e.name, e.span);
    case 'neg': {
      const a = evaluate(e.arg, env);
      return a === null ? null : -a;
    }
    case 'plus':
    case 'transpose':
      return evaluate(e.arg, env);
    case 'binary': {
      const a = evaluate(e.a, env);
      const b = evaluate(e.b, env);
      if (a === null || b === null) return null;
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
        case '.*':
          return a * b;
        case '/':
        case './':
          return a / b;
        case '^':
        case '.^':
          return Math.pow(a, b);
      }
      return null;
    }
    case 'call': {
      if ((isElementwise(e.name) || e.name === 'transpose') && e.args.length === 1) {
        const x = evaluate(e.args[0]!, env);
        return x === null ? null : e.name === 'transpose' ? x : applyUnary(e.name as UnaryFn, x);
      }
      const arity = BUILTIN_ARITY.get(e.name);
      if (arity && !arity.includes(e.args.length)) {
        env.error(e.span, `\`${e.name}\` takes ${arityText(arity)}, but ${e.args.length} ${e.args.length === 1 ? 'was' : 'were'} given`);
      } else if (arity) {
        env.error(e.span, `\`${e.name}(...)\` cannot be used here: ${env.purpose}`);
      } else {
        env.error(e.nameSpan, `function calls cannot be used here: ${env.purpose}`);
      }
      return null;
    }
    case 'index':
      env.error(e.bracketSpan, `indexing cannot be used here: ${env.purpose}`);
      return null;
    case 'invalid':
      return null;
  }
}
