// The spy plot: the Hessian's structural pattern as a standalone SVG. Up to 512 × 512 cells
// (one entry per cell when n ≤ 512, otherwise square groups of entries), each shaded by the
// fraction of its entries that are structurally nonzero (log scale, so that one entry in a big
// cell still shows). Counts come from the blocks' signed lattices, so the work grows with the
// number of cells and the lattices' shared indices, not with n². Deterministic: the same report
// gives the same bytes.

import type { InspectReport, PatternLattice } from './index.ts';
import { linearForms, transposeLattice } from './lattice.ts';

const MAX_CELLS = 512;
/** Work allowed for one lattice's shared indices before they are subsampled (see cellCounts). */
const LATTICE_BUDGET = 2e7;
const LEVELS = 8;

/** Nonzero counts per cell (row-major, side × side cells of `cell` × `cell` entries). */
export function cellCounts(report: InspectReport): { side: number; cell: number; counts: Float64Array; sampled: boolean } {
  const n = report.n;
  const cell = Math.max(1, Math.ceil(n / MAX_CELLS));
  const side = Math.ceil(n / cell);
  const counts = new Float64Array(side * side);
  let sampled = false;
  for (const b of report.blocks) {
    const P = report.params[b.rowIndex]!;
    const Q = report.params[b.colIndex]!;
    for (const piece of b.pattern) {
      sampled = addLattice(counts, side, cell, piece, piece.sign, P.shape, Q.shape, P.offset, Q.offset) || sampled;
      if (b.rowIndex !== b.colIndex) {
        const t = transposeLattice(piece, P.shape.length);
        sampled = addLattice(counts, side, cell, t, piece.sign, Q.shape, P.shape, Q.offset, P.offset) || sampled;
      }
    }
  }
  return { side, cell, counts, sampled };
}

/** All values of Σ coef_v · v over the given variables' ranges. */
function sums(vars: readonly number[], coef: readonly number[], ranges: PatternLattice['ranges']): number[] {
  let out = [0];
  for (const v of vars) {
    const [lo, hi] = ranges[v]!;
    const c = coef[v]!;
    const next: number[] = [];
    for (const base of out) for (let x = lo; x < hi; x++) next.push(base + c * x);
    out = next;
  }
  return out;
}

/** Adds sign × (entries of the lattice) to the cells; true when shared indices were subsampled. */
function addLattice(
  counts: Float64Array, side: number, cell: number, l: Pick<PatternLattice, 'index' | 'ranges'>, sign: number,
  rowShape: readonly number[], colShape: readonly number[], rowOffset: number, colOffset: number,
): boolean {
  const { r0, c0, alpha, beta } = linearForms(l, rowShape, colShape);
  const rowOnly: number[] = [];
  const colOnly: number[] = [];
  const shared: number[] = [];
  alpha.forEach((a, v) => (a !== 0 && beta[v] !== 0 ? shared : a !== 0 ? rowOnly : colOnly).push(v));
  // Rows and columns that the free (unshared) variables reach, as cell histograms.
  const rowVals = sums(rowOnly, alpha, l.ranges);
  const colVals = sums(colOnly, beta, l.ranges);
  let sharedCount = 1;
  for (const v of shared) sharedCount *= l.ranges[v]![1] - l.ranges[v]![0];
  // Work per shared assignment: histograms plus their outer product.
  const rowCells = Math.min(side, rowVals.length);
  const colCells = Math.min(side, colVals.length);
  const per = rowVals.length + colVals.length + rowCells * colCells;
  const stride = Math.max(1, Math.ceil((sharedCount * per) / LATTICE_BUDGET));
  const weight = sign * stride;
  const rowHist = new Map<number, number>();
  const colHist = new Map<number, number>();
  const baseR = rowOffset + r0;
  const baseC = colOffset + c0;
  const single = rowVals.length === 1 && colVals.length === 1;
  const visit = (rShift: number, cShift: number) => {
    if (single) {
      // One entry per shared assignment (diagonals and bands): no histograms needed.
      counts[Math.floor((baseR + rShift + rowVals[0]!) / cell) * side + Math.floor((baseC + cShift + colVals[0]!) / cell)]! += weight;
      return;
    }
    rowHist.clear();
    colHist.clear();
    for (const r of rowVals) {
      const k = Math.floor((baseR + rShift + r) / cell);
      rowHist.set(k, (rowHist.get(k) ?? 0) + 1);
    }
    for (const c of colVals) {
      const k = Math.floor((baseC + cShift + c) / cell);
      colHist.set(k, (colHist.get(k) ?? 0) + 1);
    }
    for (const [ri, rc] of rowHist) for (const [ci, cc] of colHist) counts[ri * side + ci]! += weight * rc * cc;
  };
  // Shared assignments in mixed radix; every `stride`-th one when there are too many.
  const radices = shared.map((v) => l.ranges[v]![1] - l.ranges[v]![0]);
  for (let k = 0; k < sharedCount; k += stride) {
    let rem = k;
    let rs = 0;
    let cs = 0;
    for (let s = shared.length - 1; s >= 0; s--) {
      const v = shared[s]!;
      const x = l.ranges[v]![0] + (rem % radices[s]!);
      rem = Math.floor(rem / radices[s]!);
      rs += alpha[v]! * x;
      cs += beta[v]! * x;
    }
    visit(rs, cs);
  }
  return stride > 1;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fx = (x: number) => String(Math.round(x * 100) / 100);

function shade(level: number): string {
  // Light blue (1) to dark blue (LEVELS): every level stays visible on white.
  const t = (level - 1) / (LEVELS - 1);
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t).toString(16).padStart(2, '0');
  return `#${mix(166, 8)}${mix(200, 48)}${mix(232, 107)}`;
}

/** The spy plot of a report as a standalone SVG document (no external fonts or resources). */
export function spySvg(report: InspectReport, options: { size?: number } = {}): string {
  const size = Math.max(200, Math.round(options.size ?? 640));
  const n = report.n;
  const { side, cell, counts, sampled } = cellCounts(report);
  const labelFont = 12;
  const left = 64;
  const top = 58;
  const bottom = 46;
  const plot = size - left - 16;
  const height = top + plot + bottom;
  // Beside the plot, one cell per block: small parameters stay visible next to big ones.
  const panel = report.params.length >= 2 ? blockPanel(report, size + 8, top, plot) : null;
  const width = size + (panel ? panel.width + 8 : 0);
  const unit = plot / Math.max(1, side);
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`);
  const total = n * n;
  const title = `${report.model}: Hessian structure, n = ${n.toLocaleString('en-US')}, ${report.entries.toLocaleString('en-US')} structural nonzeros`;
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="18" font-size="13" font-weight="bold" fill="#222">${esc(report.model)}: ∂²f/∂θ² structure</text>`);
  const fill = total ? (100 * report.entries) / total : 0;
  out.push(`<text x="${left}" y="34" font-size="11" fill="#555">n = ${n.toLocaleString('en-US')}, ${report.entries.toLocaleString('en-US')} structural nonzeros (${fill >= 1 || fill === 0 ? fill.toFixed(0) : fill.toPrecision(2)}%)</text>`);
  out.push(`<g transform="translate(${left},${top})">`);
  out.push(`<rect width="${fx(plot)}" height="${fx(plot)}" fill="#ffffff" stroke="#999" stroke-width="1"/>`);
  // Cells grouped by shade into one path each; runs of equal shade along a row are one rectangle.
  const cellArea = (k: number) => Math.min(cell, n - k * cell);
  const paths: string[][] = Array.from({ length: LEVELS + 1 }, () => []);
  for (let r = 0; r < side; r++) {
    let runStart = -1;
    let runLevel = 0;
    const flush = (end: number) => {
      if (runLevel > 0) paths[runLevel]!.push(`M${fx(runStart * unit)} ${fx(r * unit)}h${fx((end - runStart) * unit)}v${fx(unit)}h${fx(-(end - runStart) * unit)}z`);
    };
    for (let c = 0; c <= side; c++) {
      let level = 0;
      if (c < side) {
        const k = counts[r * side + c]!;
        if (k > 0.5) {
          const area = cellArea(r) * cellArea(c);
          const frac = Math.min(1, k / area);
          const span = Math.log10(area);
          const t = span === 0 ? 1 : 1 + Math.log10(frac) / span;
          level = Math.min(LEVELS, Math.max(1, 1 + Math.round(t * (LEVELS - 1))));
        }
      }
      if (level !== runLevel || c === side) {
        flush(c);
        runStart = c;
        runLevel = level;
      }
    }
  }
  for (let level = 1; level <= LEVELS; level++) if (paths[level]!.length) out.push(`<path fill="${shade(level)}" d="${paths[level]!.join('')}"/>`);
  // With few entries, a white grid keeps neighbouring entries apart.
  if (side <= 100 && cell === 1 && side > 1) {
    const lines: string[] = [];
    for (let k = 1; k < side; k++) lines.push(`M${fx(k * unit)} 0V${fx(plot)}M0 ${fx(k * unit)}H${fx(plot)}`);
    out.push(`<path d="${lines.join('')}" stroke="#ffffff" stroke-opacity="0.7" stroke-width="${fx(Math.min(1.5, Math.max(0.5, unit * 0.06)))}" fill="none"/>`);
  }
  // Parameter boundaries and labels.
  const pos = (entry: number) => (entry / n) * plot;
  for (const p of report.params.slice(1)) {
    const x = fx(pos(p.offset));
    out.push(`<line x1="${x}" y1="0" x2="${x}" y2="${fx(plot)}" stroke="#d62728" stroke-width="1" stroke-opacity="0.8"/>`);
    out.push(`<line x1="0" y1="${x}" x2="${fx(plot)}" y2="${x}" stroke="#d62728" stroke-width="1" stroke-opacity="0.8"/>`);
  }
  // Labels that do not fit their span go to a second row (columns) or are left out (rows).
  const charW = labelFont * 0.62;
  const lastEnd = [-Infinity, -Infinity];
  let lastRowEnd = -Infinity;
  for (const p of report.params) {
    const a = pos(p.offset);
    const b = pos(p.offset + p.size);
    const mid = (a + b) / 2;
    const w = p.name.length * charW;
    const row = mid - w / 2 >= lastEnd[0]! + 2 ? 0 : mid - w / 2 >= lastEnd[1]! + 2 ? 1 : -1;
    if (row >= 0) {
      out.push(`<text x="${fx(mid)}" y="${row === 0 ? -6 : -20}" font-size="${labelFont}" text-anchor="middle" fill="#222">${esc(p.name)}</text>`);
      lastEnd[row] = mid + w / 2;
    }
    if (mid - labelFont / 2 >= lastRowEnd + 1) {
      out.push(`<text x="-6" y="${fx(mid + labelFont * 0.35)}" font-size="${labelFont}" text-anchor="end" fill="#222">${esc(p.name)}</text>`);
      lastRowEnd = mid + labelFont / 2;
    }
  }
  out.push('</g>');
  // Legend: what a cell is and what the shades mean.
  const ly = top + plot + 18;
  const caption = cell === 1
    ? 'one cell per entry; filled = structurally nonzero; red lines: parameter boundaries'
    : `one cell per ${cell.toLocaleString('en-US')} × ${cell.toLocaleString('en-US')} entries; shade: fraction nonzero (log scale)${sampled ? ', estimated' : ''}`;
  out.push(`<text x="${left}" y="${ly}" font-size="10.5" fill="#444">${esc(caption)}</text>`);
  if (cell > 1) {
    const sw = 14;
    const lx = left;
    for (let level = 1; level <= LEVELS; level++) out.push(`<rect x="${lx + 58 + (level - 1) * sw}" y="${ly + 8}" width="${sw}" height="10" fill="${shade(level)}"/>`);
    const minFrac = 1 / (cell * cell);
    out.push(`<text x="${lx + 52}" y="${ly + 17}" font-size="10" text-anchor="end" fill="#444">${esc(minFrac < 1e-3 ? minFrac.toExponential(0) : String(minFrac))}</text>`);
    out.push(`<text x="${lx + 62 + LEVELS * sw}" y="${ly + 17}" font-size="10" fill="#444">1 (full)</text>`);
  }
  if (panel) out.push(...panel.lines);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const GLYPH: Readonly<Record<string, string>> = { dense: 'F', diagonal: 'D', banded: 'B', delta: 'δ', sparse: 'S', zero: '' };

/** The block map: parameters × parameters, each cell shaded by its block's fill, with its class. */
function blockPanel(report: InspectReport, x0: number, y0: number, plot: number): { width: number; lines: string[] } {
  const P = report.params.length;
  const font = 11;
  const labelW = Math.max(...report.params.map((p) => p.name.length)) * font * 0.62 + 8;
  const cellPx = Math.max(6, Math.min(28, Math.floor((plot * 0.6) / P)));
  const grid = cellPx * P;
  const width = Math.max(labelW + grid + 12, 230);
  const lines: string[] = [];
  const gx = x0 + labelW;
  const gy = y0 + labelW;
  lines.push(`<text x="${x0}" y="${y0 - 6}" font-size="12" font-weight="bold" fill="#222">blocks</text>`);
  const byPair = new Map(report.blocks.map((b) => [`${b.rowIndex},${b.colIndex}`, b]));
  report.params.forEach((p, i) => {
    const cy = gy + i * cellPx + cellPx / 2;
    if (cellPx >= 9) {
      lines.push(`<text x="${gx - 4}" y="${fx(cy + font * 0.35)}" font-size="${font}" text-anchor="end" fill="#222">${esc(p.name)}</text>`);
      const cx = gx + i * cellPx + cellPx / 2;
      lines.push(`<text x="${fx(cx + font * 0.35)}" y="${gy - 4}" font-size="${font}" transform="rotate(-90 ${fx(cx + font * 0.35)} ${gy - 4})" fill="#222">${esc(p.name)}</text>`);
    }
    report.params.forEach((_, j) => {
      const b = byPair.get(`${Math.min(i, j)},${Math.max(i, j)}`);
      if (!b) return;
      const frac = b.size ? b.entries / b.size : 0;
      const x = gx + j * cellPx;
      const y = gy + i * cellPx;
      let fill = '#ffffff';
      let level = 0;
      if (frac > 0) {
        const span = Math.log10(b.size);
        level = span === 0 ? LEVELS : Math.min(LEVELS, Math.max(1, 1 + Math.round((1 + Math.log10(frac) / span) * (LEVELS - 1))));
        fill = shade(level);
      }
      lines.push(`<rect x="${x}" y="${y}" width="${cellPx}" height="${cellPx}" fill="${fill}" stroke="#bbb" stroke-width="0.5"><title>${esc(`H[${b.row},${b.col}]: ${b.kind}, ${b.entries.toLocaleString('en-US')} of ${b.size.toLocaleString('en-US')}`)}</title></rect>`);
      const glyph = GLYPH[b.kind] ?? '';
      if (glyph && cellPx >= 12) {
        lines.push(`<text x="${fx(x + cellPx / 2)}" y="${fx(y + cellPx / 2 + cellPx * 0.17)}" font-size="${fx(cellPx * 0.5)}" text-anchor="middle" fill="${level > LEVELS / 2 ? '#ffffff' : '#08306b'}">${glyph}</text>`);
      }
    });
  });
  const ly = gy + grid + 16;
  const legend = ['F dense', 'D diagonal', 'B banded', 'δ δ-pattern', 'S sparse', 'blank: zero'];
  legend.forEach((t, k) => lines.push(`<text x="${x0}" y="${ly + k * 14}" font-size="10.5" fill="#444">${esc(t)}</text>`));
  lines.push(`<text x="${x0}" y="${ly + legend.length * 14 + 4}" font-size="10.5" fill="#444">shade: fraction of the block nonzero</text>`);
  return { width, lines };
}
