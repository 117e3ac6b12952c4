// Canvas pictures of a Hessian: a heat map (diverging colours, parameter blocks outlined) and its
// eigenvalue spectrum. Drawn at the device's pixel ratio so lines stay sharp.

import type { ModelShape } from './inputs.ts';

export type Scale = 'log' | 'linear';

const FONT = '11px ui-sans-serif, system-ui, sans-serif';
const AXIS = '#6b7280';
const GRID = 'rgba(17, 24, 39, 0.55)';

/** Sizes the canvas's backing store to its CSS box × devicePixelRatio; returns a context in CSS pixels. */
function setup(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/** t in [−1, 1] → RGB: blue (negative), white (0), red (positive). */
function diverging(t: number): [number, number, number] {
  const a = Math.min(1, Math.abs(t));
  // White to a saturated end colour, with a slight darkening at the end for contrast.
  const [r, g, b] = t < 0 ? [33, 102, 172] : [178, 24, 43];
  return [Math.round(255 + (r - 255) * a), Math.round(255 + (g - 255) * a), Math.round(255 + (b - 255) * a)];
}

/** Magnitude → [0, 1]: linear in |x|/max, or logarithmic over `decades` below the largest entry. */
function intensity(x: number, max: number, scale: Scale, decades = 6): number {
  if (x === 0 || max === 0) return 0;
  const r = Math.abs(x) / max;
  if (scale === 'linear') return r;
  // An entry 10^-decades below the largest still shows, faintly; smaller ones as the faintest tint.
  return Math.max(0.04, 1 + Math.log10(r) / decades);
}

export interface HeatMapGeometry {
  /** The matrix's square on the canvas, in CSS pixels. */
  readonly x0: number;
  readonly y0: number;
  readonly size: number;
  readonly n: number;
}

/**
 * Draws H (n × n, row-major) with blocks outlined and labelled by parameter; a cell aggregates
 * several entries (keeping the largest in magnitude) when n exceeds the pixels available.
 */
export function drawHeatMap(canvas: HTMLCanvasElement, h: ArrayLike<number>, model: ModelShape, scale: Scale): HeatMapGeometry {
  const { ctx, w, h: height } = setup(canvas);
  const n = model.n;
  const margin = { left: 46, top: 30, right: 14, bottom: 34 };
  const size = Math.max(10, Math.min(w - margin.left - margin.right, height - margin.top - margin.bottom));
  const x0 = margin.left;
  const y0 = margin.top;
  let max = 0;
  for (let i = 0; i < n * n; i++) max = Math.max(max, Math.abs(h[i]!));

  // One image cell per entry, or per group of entries for large n.
  const ratio = window.devicePixelRatio || 1;
  const cells = Math.max(1, Math.min(n, Math.floor(size * ratio)));
  const image = ctx.createImageData(cells, cells);
  const agg = new Float64Array(cells * cells);
  const touched = new Uint8Array(cells * cells);
  for (let i = 0; i < n; i++) {
    const ci = Math.floor((i * cells) / n);
    for (let j = 0; j < n; j++) {
      const v = h[i * n + j]!;
      const c = ci * cells + Math.floor((j * cells) / n);
      touched[c] = 1;
      if (Math.abs(v) > Math.abs(agg[c]!)) agg[c] = v;
    }
  }
  for (let c = 0; c < cells * cells; c++) {
    const v = agg[c]!;
    const [r, g, b] = v === 0 ? [255, 255, 255] : diverging(Math.sign(v) * intensity(v, max, scale));
    image.data[4 * c] = r;
    image.data[4 * c + 1] = g;
    image.data[4 * c + 2] = b;
    image.data[4 * c + 3] = touched[c] ? 255 : 0;
  }
  const off = document.createElement('canvas');
  off.width = cells;
  off.height = cells;
  off.getContext('2d')!.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, x0, y0, size, size);

  // Parameter blocks: boundaries and names on both axes.
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.strokeRect(x0 + 0.5, y0 + 0.5, size - 1, size - 1);
  ctx.font = FONT;
  ctx.fillStyle = AXIS;
  for (const p of model.params) {
    const a = (p.offset / n) * size;
    const b = ((p.offset + p.size) / n) * size;
    if (p.offset > 0) {
      ctx.beginPath();
      ctx.moveTo(x0, y0 + Math.round(a) + 0.5);
      ctx.lineTo(x0 + size, y0 + Math.round(a) + 0.5);
      ctx.moveTo(x0 + Math.round(a) + 0.5, y0);
      ctx.lineTo(x0 + Math.round(a) + 0.5, y0 + size);
      ctx.stroke();
    }
    if (b - a >= 10) {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      ctx.fillText(p.name, x0 + (a + b) / 2, y0 - 4, Math.max(10, b - a));
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText(p.name, x0 - 5, y0 + (a + b) / 2, margin.left - 8);
    }
  }
  // Colour bar: −max … 0 … +max.
  const barY = y0 + size + 12;
  const barW = Math.min(size, 220);
  const barX = x0 + (size - barW) / 2;
  for (let k = 0; k < barW; k++) {
    const t = (2 * k) / (barW - 1) - 1;
    const [r, g, b] = diverging(t);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(barX + k, barY, 1, 8);
  }
  ctx.strokeStyle = '#d1d5db';
  ctx.strokeRect(barX - 0.5, barY - 0.5, barW + 1, 9);
  ctx.fillStyle = AXIS;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  ctx.fillText(`−${fmt(max)}`, barX - 6, barY + 4);
  ctx.textAlign = 'left';
  ctx.fillText(`+${fmt(max)}`, barX + barW + 6, barY + 4);
  return { x0, y0, size, n };
}

/** The entry under a mouse position, or null outside the matrix. */
export function entryAt(g: HeatMapGeometry, x: number, y: number): { i: number; j: number } | null {
  const u = (x - g.x0) / g.size;
  const v = (y - g.y0) / g.size;
  if (u < 0 || v < 0 || u >= 1 || v >= 1) return null;
  return { i: Math.floor(v * g.n), j: Math.floor(u * g.n) };
}

export function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(2).replace('e+', 'e');
  return Number(x.toPrecision(4)).toString();
}

/**
 * The sorted eigenvalues as points against their index, on a symmetric-log axis (sign kept,
 * magnitudes over up to 12 decades below the largest): negative ones blue, positive red, zero grey.
 */
export function drawSpectrum(canvas: HTMLCanvasElement, eig: Float64Array): void {
  const { ctx, w, h } = setup(canvas);
  const margin = { left: 58, top: 14, right: 14, bottom: 28 };
  const pw = w - margin.left - margin.right;
  const ph = h - margin.top - margin.bottom;
  const n = eig.length;
  let max = 0;
  for (const x of eig) max = Math.max(max, Math.abs(x));
  let min = max;
  for (const x of eig) if (x !== 0) min = Math.min(min, Math.abs(x));
  // Decades shown: from the smallest nonzero magnitude (at most 12 below the largest) to the largest.
  const top = max > 0 ? Math.ceil(Math.log10(max)) : 0;
  const bottom = max > 0 ? Math.max(top - 12, Math.floor(Math.log10(min))) : -1;
  const span = Math.max(1, top - bottom);
  // y(λ): 0 in the middle, ±(log10|λ| − bottom)/span towards the edges (|λ| ≤ 10^bottom sits at 0).
  const y = (v: number): number => {
    const m = v === 0 ? 0 : Math.max(0, Math.log10(Math.abs(v)) - bottom) / span;
    return margin.top + ph / 2 - (Math.sign(v) * m * ph) / 2;
  };
  const x = (k: number): number => margin.left + (n <= 1 ? pw / 2 : (k / (n - 1)) * pw);

  ctx.font = FONT;
  ctx.strokeStyle = '#e5e7eb';
  ctx.fillStyle = AXIS;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const step = Math.max(1, Math.ceil(span / 4));
  for (let d = top; d > bottom; d -= step) {
    for (const s of [1, -1]) {
      const yy = y(s * 10 ** d);
      ctx.beginPath();
      ctx.moveTo(margin.left, Math.round(yy) + 0.5);
      ctx.lineTo(margin.left + pw, Math.round(yy) + 0.5);
      ctx.stroke();
      ctx.fillText(`${s < 0 ? '−' : ''}1e${d}`, margin.left - 6, yy);
    }
  }
  ctx.strokeStyle = '#9ca3af';
  ctx.beginPath();
  ctx.moveTo(margin.left, Math.round(y(0)) + 0.5);
  ctx.lineTo(margin.left + pw, Math.round(y(0)) + 0.5);
  ctx.stroke();
  ctx.fillText('0', margin.left - 6, y(0));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(`eigenvalue index (1 … ${n}, ascending)`, margin.left + pw / 2, margin.top + ph + 8);

  const r = n > 200 ? 1.6 : n > 50 ? 2.2 : 3;
  // Eigenvalues within rounding of zero (n·ε·max |λ|) in grey: neither sign is meaningful.
  const zero = n * Number.EPSILON * max;
  for (let k = 0; k < n; k++) {
    const v = eig[k]!;
    ctx.fillStyle = v < -zero ? '#2166ac' : v > zero ? '#b2182b' : '#6b7280';
    ctx.beginPath();
    ctx.arc(x(k), y(v), r, 0, 2 * Math.PI);
    ctx.fill();
  }
}
