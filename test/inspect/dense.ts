// A report's structural pattern as a dense n × n matrix of counts, enumerated entry by entry from
// its signed lattices (independently of compiler/inspect's own counting): 1 in the pattern, 0
// outside, anything else a bug.
import { expect } from 'vitest';
import type { InspectReport } from '../../compiler/inspect/index.ts';

/** The pattern as a dense n × n 0/1 matrix (both triangles), from the report's lattices alone. */
export function denseEntries(report: InspectReport): { counts: Int32Array; perBlock: number[] } {
  const n = report.n;
  const counts = new Int32Array(n * n);
  const perBlock: number[] = [];
  for (const b of report.blocks) {
    const P = report.params[b.rowIndex]!;
    const Q = report.params[b.colIndex]!;
    const shape = [...P.shape, ...Q.shape];
    const strides = shape.map((_, k) => shape.slice(k + 1, k < P.shape.length ? P.shape.length : shape.length).reduce((a, c) => a * c, 1));
    let total = 0;
    for (const piece of b.pattern) {
      const vals = new Array<number>(piece.ranges.length);
      const visit = (v: number): void => {
        if (v === piece.ranges.length) {
          let r = P.offset;
          let c = Q.offset;
          piece.index.forEach((ix, k) => {
            const x = typeof ix === 'number' ? ix : vals[ix[0]]! + ix[1];
            expect(x).toBeGreaterThanOrEqual(0);
            expect(x).toBeLessThan(shape[k]!);
            if (k < P.shape.length) r += strides[k]! * x;
            else c += strides[k]! * x;
          });
          counts[r * n + c]! += piece.sign;
          if (b.rowIndex !== b.colIndex) counts[c * n + r]! += piece.sign;
          total += piece.sign;
          return;
        }
        for (let x = piece.ranges[v]![0]; x < piece.ranges[v]![1]; x++) {
          vals[v] = x;
          visit(v + 1);
        }
      };
      visit(0);
    }
    perBlock.push(total);
  }
  return { counts, perBlock };
}

