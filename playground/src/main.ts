// The playground page: edit a .hess model, see its diagnostics as you type, the generated
// TypeScript and WGSL, the Hessian's structure (spy plot from `hessgen inspect`), and evaluate the
// generated modules in the page: float64 on the CPU, float32 with the WebGPU kernels where the
// browser gives an adapter. Everything runs here; nothing is fetched from other hosts.

import { compile, type Diagnostic } from '../../compiler/index.ts';
import { formatReport, inspect, spySvg } from '../../compiler/inspect/index.ts';
import { describeAdapter, deviceFromAdapter, type Kernels } from 'hessgen/runtime';
import { examples } from 'playground:examples';
import { Editor } from './editor.ts';
import { symmetricEigenvalues } from './eigen.ts';
import { dataSize, inputsToJson, parseInputs, randomInputs, symbolicDims, thetaLabel, type DataValues, type Inputs, type ModelShape } from './inputs.ts';
import { drawHeatMap, drawSpectrum, entryAt, fmt, type HeatMapGeometry, type Scale } from './plots.ts';

/** The generated CPU module (`model.js`), as far as the page uses it. */
interface CpuModule {
  readonly model: ModelShape;
  evaluate(theta: ArrayLike<number>, data?: DataValues): { value: number; gradient: Float64Array; hessian: Float64Array };
}

/** The generated GPU module (`model.gpu.js`). */
interface GpuModule {
  readonly model: ModelShape;
  readonly wgsl: Readonly<Record<string, string>>;
  createKernels(device: GPUDevice): Promise<Kernels<DataValues>>;
}

interface Compiled {
  readonly source: string;
  readonly path: string;
  readonly cpu: CpuModule;
  readonly gpu: GpuModule;
  readonly gpuCode: string;
  readonly ts: string;
  readonly model: ModelShape;
  readonly compileMs: number;
}

interface Evaluation {
  readonly inputs: Inputs;
  readonly cpu: { value: number; gradient: Float64Array; hessian: Float64Array; ms: number; runs: number };
  readonly eigenvalues: Float64Array | null;
  /** Why there is no spectrum, when there is none. */
  readonly eigenNote: string;
  readonly eigenMs: number;
  gpu: { value: number; gradient: Float32Array; hessian: Float32Array; createMs: number; firstMs: number; ms: number } | null;
  gpuError: string | null;
}

/** Spectra are computed up to this n (O(n³) on the main thread). */
const MAX_EIGEN_N = 500;
/** Above this n the CPU Hessian is not evaluated on every edit (only on Evaluate). */
const MAX_AUTO_N = 1500;
const DEFAULT_DIM = 8;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`playground: #${id} is missing from index.html`);
  return e as T;
};

const editor = new Editor($('editor'), () => scheduleCompile());
const exampleSelect = $<HTMLSelectElement>('example');
const compileStatus = $('compile-status');
const gpuStatus = $('gpu-status');
const diagnosticsList = $('diagnostics');
const dimsBox = $('dims');
const seedInput = $<HTMLInputElement>('seed');
const useGpu = $<HTMLInputElement>('use-gpu');
const inputsText = $<HTMLTextAreaElement>('inputs');
const evalError = $('eval-error');
const results = $<HTMLTableElement>('results');
const heatmap = $<HTMLCanvasElement>('heatmap');
const heatmapCaption = $('heatmap-caption');
const spectrum = $<HTMLCanvasElement>('spectrum');
const spectrumCaption = $('spectrum-caption');
const scaleSelect = $<HTMLSelectElement>('scale');
const heatView = $<HTMLSelectElement>('heat-view');
const figures = $('figures');

let current: Compiled | null = null;
let diagnostics: Diagnostic[] = [];
/** The editor's text does not compile (errors, or a compiler failure): nothing to evaluate. */
let broken = false;
let inputs: Inputs | null = null;
let inputsKey = '';
let inputsEdited = false;
let evaluation: Evaluation | null = null;
let geometry: HeatMapGeometry | null = null;
let dims: Record<string, number> = {};
let sourcePath = 'model.hess';

// ---------------------------------------------------------------- work queue and idle tracking
// Compiles and evaluations run one at a time, in order; `idle()` (for tests and scripts) resolves
// once nothing is queued or waiting on the debounce.
let pending = 0;
let queue: Promise<void> = Promise.resolve();
let idleWaiters: (() => void)[] = [];
function settle(): void {
  pending--;
  if (pending === 0) {
    document.body.dataset.state = broken ? 'error' : 'ready';
    const ws = idleWaiters;
    idleWaiters = [];
    for (const w of ws) w();
  }
}
function enqueue(task: () => Promise<void> | void): Promise<void> {
  pending++;
  document.body.dataset.state = 'busy';
  const run = queue.then(task).catch((e: unknown) => showInternalError(e));
  queue = run.then(settle);
  return queue;
}
function idle(): Promise<void> {
  return pending === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
}

let debounce: ReturnType<typeof setTimeout> | null = null;
function scheduleCompile(): void {
  if (debounce === null) pending++;
  else clearTimeout(debounce);
  compileStatus.textContent = 'editing…';
  compileStatus.className = 'status muted';
  debounce = setTimeout(() => {
    debounce = null;
    void enqueue(recompile);
    settle();
  }, 250);
}

function showInternalError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  evalError.textContent = message;
  evalError.hidden = false;
}

// ---------------------------------------------------------------- WebGPU
let gpuDevice: Promise<GPUDevice | null> = Promise.resolve(null);
let gpuProblem = '';
const kernelCache = new Map<string, Promise<Kernels<DataValues>>>();

function initGpu(): void {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    gpuProblem = 'this browser has no WebGPU (navigator.gpu)';
    setGpuStatus(`no WebGPU: ${gpuProblem}`, false);
    return;
  }
  gpuDevice = (async () => {
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      gpuProblem = 'navigator.gpu gave no adapter';
      setGpuStatus(`no WebGPU: ${gpuProblem}`, false);
      return null;
    }
    const device = await deviceFromAdapter(adapter);
    setGpuStatus(`WebGPU: ${describeAdapter(adapter)}`, true);
    void device.lost.then((info) => {
      gpuProblem = `the WebGPU device was lost (${info.message || info.reason})`;
      gpuDevice = Promise.resolve(null);
      kernelCache.clear();
      setGpuStatus(`no WebGPU: ${gpuProblem}`, false);
    });
    return device;
  })().catch((e: unknown) => {
    gpuProblem = `WebGPU failed: ${(e as Error).message}`;
    setGpuStatus(gpuProblem, false);
    return null;
  });
}

function setGpuStatus(text: string, ok: boolean): void {
  gpuStatus.textContent = text;
  gpuStatus.className = `status ${ok ? 'ok' : 'muted'}`;
  useGpu.disabled = !ok;
  if (!ok) useGpu.checked = false;
}

// ---------------------------------------------------------------- compiling
async function importCode<T>(code: string): Promise<T> {
  // A module from a string: a Blob URL. Its `import 'hessgen/runtime'` resolves through the
  // page's import map to the bundled runtime.
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  try {
    return (await import(/* @vite-ignore */ url)) as T;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function output(outputs: readonly { fileName: string; code: string }[], suffix: string, exclude?: string): string {
  const o = outputs.find((x) => x.fileName.endsWith(suffix) && !(exclude && x.fileName.endsWith(exclude)));
  if (!o) throw new Error(`the compiler gave no *${suffix} output (outputs: ${outputs.map((x) => x.fileName).join(', ')})`);
  return o.code;
}

async function recompile(): Promise<void> {
  const source = editor.value;
  const path = sourcePath;
  const t0 = performance.now();
  let result: ReturnType<typeof compile>;
  try {
    result = compile(source, path, { targets: ['ts', 'wgsl'], emit: 'js' });
  } catch (e) {
    // A compiler bug, not the user's: say so, keep the page alive.
    showDiagnostics([], `internal compiler error: ${(e as Error).message}`);
    return;
  }
  const compileMs = performance.now() - t0;
  if (!result.ok) {
    showDiagnostics(result.diagnostics);
    return;
  }
  const jsCode = output(result.outputs, '.js', '.gpu.js');
  const gpuCode = output(result.outputs, '.gpu.js');
  // The TypeScript tab shows the `ts` target as `hessgen build` writes it.
  const tsResult = compile(source, path, { targets: ['ts'] });
  const ts = tsResult.ok ? tsResult.outputs[0]!.code : '';
  const [cpu, gpu] = await Promise.all([importCode<CpuModule>(jsCode), importCode<GpuModule>(gpuCode)]);
  if (source !== editor.value) return; // edited meanwhile: a newer compile is queued
  showDiagnostics([]);
  compileStatus.textContent = `compiled ${cpu.model.name} in ${compileMs.toFixed(0)} ms · n = ${cpu.model.n}`;
  compileStatus.className = 'status ok';
  current = { source, path, cpu, gpu, gpuCode, ts, model: cpu.model, compileMs };
  $('ts-code').textContent = ts;
  $('wgsl-code').textContent = Object.entries(gpu.wgsl)
    .map(([name, code]) => `// ─── kernel ${name} ${'─'.repeat(Math.max(3, 60 - name.length))}\n${code.trimEnd()}\n`)
    .join('\n');
  // Kernels of models no longer shown: free their GPU buffers.
  for (const [code, k] of kernelCache) {
    if (code !== gpuCode) {
      kernelCache.delete(code);
      void k.then((x) => x.destroy(), () => undefined);
    }
  }
  syncDims(cpu.model);
  ensureInputs(cpu.model, false);
  renderStructure();
  if (cpu.model.n <= MAX_AUTO_N) await evaluate(false);
  else {
    evaluation = null;
    renderResults();
    evalError.textContent = `n = ${cpu.model.n}: press Evaluate to compute the ${fmt(cpu.model.n ** 2)}-entry Hessian`;
    evalError.hidden = false;
  }
}

function showDiagnostics(ds: Diagnostic[], internal?: string): void {
  diagnostics = ds;
  broken = ds.length > 0 || internal !== undefined;
  editor.setMarks(ds);
  const items = ds.map((d) => {
    const li = document.createElement('li');
    li.className = 'diagnostic';
    li.dataset.line = String(d.line);
    li.dataset.column = String(d.column);
    const pos = document.createElement('span');
    pos.className = 'pos';
    pos.textContent = `${d.line}:${d.column}`;
    const msg = document.createElement('span');
    msg.className = 'msg';
    msg.textContent = d.message;
    li.append(pos, msg);
    li.tabIndex = 0;
    li.title = 'show in the editor';
    li.addEventListener('click', () => editor.reveal(d));
    li.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') editor.reveal(d);
    });
    return li;
  });
  if (internal) {
    const li = document.createElement('li');
    li.className = 'diagnostic';
    li.textContent = internal;
    items.push(li);
  }
  diagnosticsList.replaceChildren(...items);
  if (ds.length > 0 || internal) {
    const n = ds.length;
    compileStatus.textContent = internal ? 'internal error' : `${n} error${n === 1 ? '' : 's'}`;
    compileStatus.className = 'status bad';
  }
  // What the panel still shows belongs to the last model that compiled.
  for (const e of [results, figures]) e.classList.toggle('stale', ds.length > 0 || internal !== undefined);
}

// ---------------------------------------------------------------- inputs
function syncDims(model: ModelShape): void {
  const names = symbolicDims(model);
  const next: Record<string, number> = {};
  for (const n of names) next[n] = dims[n] ?? DEFAULT_DIM;
  const same = names.length === Object.keys(dims).length && names.every((n) => n in dims);
  dims = next;
  if (same && dimsBox.childElementCount === names.length) return;
  dimsBox.replaceChildren(
    ...names.map((name) => {
      const label = document.createElement('label');
      label.className = 'field';
      const input = document.createElement('input');
      input.type = 'number';
      input.min = '1';
      input.step = '1';
      input.value = String(dims[name]);
      input.dataset.dim = name;
      input.addEventListener('change', () => {
        const v = Math.floor(Number(input.value));
        if (!(v >= 1)) {
          input.value = String(dims[name]);
          return;
        }
        dims[name] = v;
        void enqueue(async () => {
          if (!current) return;
          ensureInputs(current.model, true);
          renderStructure();
          await evaluate(false);
        });
      });
      label.append(`${name} =`, input);
      return label;
    }),
  );
}

/** Keeps the inputs while they fit the model; otherwise (or when forced) draws new random ones. */
function ensureInputs(model: ModelShape, force: boolean): void {
  const key = `${model.n}|${model.data.map((d) => `${d.name}:${dataSize(d.shape, dims)}`).join(',')}`;
  if (!force && inputs && key === inputsKey) return;
  inputs = randomInputs(model, dims, seed());
  inputsKey = key;
  inputsText.value = inputsToJson(inputs);
  inputsEdited = false;
}

function seed(): number {
  const s = Math.floor(Number(seedInput.value));
  return Number.isFinite(s) && s >= 0 ? s : 1;
}

// ---------------------------------------------------------------- evaluation
async function evaluate(withGpu: boolean): Promise<void> {
  evalError.hidden = true;
  const c = current;
  if (!c || broken) return;
  if (inputsEdited) {
    try {
      inputs = parseInputs(inputsText.value, c.model);
    } catch (e) {
      evalError.textContent = (e as Error).message;
      evalError.hidden = false;
      return;
    }
  }
  const inp = inputs!;
  let cpuResult: Evaluation['cpu'];
  try {
    const first = c.cpu.evaluate(inp.theta, inp.data);
    // Browsers coarsen performance.now() (to 0.1 ms without cross-origin isolation), so time
    // rounds of calls, doubling them until a round takes 10 ms (at most 8 rounds or ~120 ms); report
    // the median round's time per call.
    const perCall: number[] = [];
    let calls = 1;
    let total = 0;
    while (perCall.length < 8 && total < 120) {
      const t = performance.now();
      for (let k = 0; k < calls; k++) c.cpu.evaluate(inp.theta, inp.data);
      const dt = performance.now() - t;
      total += dt;
      if (dt < 10 && calls < 1 << 20) calls *= 2;
      else perCall.push(dt / calls);
    }
    if (perCall.length === 0) perCall.push(total / calls);
    perCall.sort((a, b) => a - b);
    cpuResult = { ...first, ms: perCall[Math.floor(perCall.length / 2)]!, runs: perCall.length };
  } catch (e) {
    // The generated module's RangeErrors name the array and the lengths: show them as they are.
    evalError.textContent = `CPU: ${(e as Error).message}`;
    evalError.hidden = false;
    return;
  }
  let eigenvalues: Float64Array | null = null;
  let eigenNote = c.model.n > MAX_EIGEN_N ? `shown for n ≤ ${MAX_EIGEN_N}` : '';
  let eigenMs = 0;
  if (c.model.n <= MAX_EIGEN_N) {
    const t0 = performance.now();
    try {
      eigenvalues = symmetricEigenvalues(cpuResult.hessian, c.model.n);
    } catch (e) {
      eigenNote = (e as Error).message;
    }
    eigenMs = performance.now() - t0;
  }
  evaluation = { inputs: inp, cpu: cpuResult, eigenvalues, eigenNote, eigenMs, gpu: null, gpuError: null };
  renderResults();
  if (withGpu && useGpu.checked) await evaluateGpu(c, evaluation);
}

async function evaluateGpu(c: Compiled, ev: Evaluation): Promise<void> {
  const device = await gpuDevice;
  if (!device) {
    ev.gpuError = gpuProblem || 'no WebGPU device';
    renderResults();
    return;
  }
  setRow('gpu-note', 'WebGPU', 'creating pipelines…');
  try {
    let createMs = 0;
    let kernels = kernelCache.get(c.gpuCode);
    if (!kernels) {
      const t0 = performance.now();
      kernels = c.gpu.createKernels(device);
      kernelCache.set(c.gpuCode, kernels);
      await kernels.catch(() => kernelCache.delete(c.gpuCode));
      createMs = performance.now() - t0;
    }
    const k = await kernels;
    k.setData(ev.inputs.data);
    let t0 = performance.now();
    const r = await k.evaluate(ev.inputs.theta);
    const firstMs = performance.now() - t0;
    t0 = performance.now();
    await k.evaluate(ev.inputs.theta);
    const ms = performance.now() - t0;
    ev.gpu = { ...r, createMs, firstMs, ms };
  } catch (e) {
    ev.gpuError = (e as Error).message;
  }
  if (evaluation === ev) renderResults();
}

// ---------------------------------------------------------------- rendering
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |a − b| / max |b| (0 when both are zero). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  const s = maxAbs(b);
  return s === 0 ? d : d / s;
}

function setRow(id: string, label: string, value: string, cls = ''): void {
  let row = results.querySelector<HTMLTableRowElement>(`tr[data-row="${id}"]`);
  if (!row) {
    row = results.insertRow();
    row.dataset.row = id;
    row.insertCell().textContent = label;
    row.insertCell();
  }
  row.cells[1]!.textContent = value;
  row.cells[1]!.className = cls;
}

function renderResults(): void {
  results.replaceChildren();
  const ev = evaluation;
  const c = current;
  if (!ev || !c) return;
  const n = c.model.n;
  const h = ev.cpu.hessian;
  let nonzeros = 0;
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) nonzeros++;
  const dimText = Object.entries(dims).map(([k, v]) => `${k} = ${v}`).join(', ');
  setRow('model', 'model', `${c.model.name}: n = ${n} (${c.model.params.map((p) => p.name).join(', ')})${dimText ? `, ${dimText}` : ''}`);
  setRow('value', 'f(θ)', `${ev.cpu.value.toPrecision(10)}   ‖∇f‖∞ = ${fmt(maxAbs(ev.cpu.gradient))}   H: ${nonzeros} of ${n * n} entries nonzero`);
  setRow('cpu', 'CPU (float64)', `evaluate ${timeText(ev.cpu.ms)} per call (median of ${ev.cpu.runs} timed rounds)`);
  if (ev.gpu) {
    const g = ev.gpu;
    setRow('gpu', 'WebGPU (float32)', `f = ${g.value.toPrecision(7)} · createKernels ${timeText(g.createMs)}${g.createMs === 0 ? ' (cached)' : ''} · evaluate ${timeText(g.firstMs)} first, ${timeText(g.ms)} next`);
    const dh = relDiff(g.hessian, h);
    const dg = relDiff(g.gradient, ev.cpu.gradient);
    const dv = Math.abs(g.value - ev.cpu.value) / Math.max(Math.abs(ev.cpu.value), Number.MIN_VALUE);
    setRow('diff', 'float32 vs float64', `H ${dh.toExponential(2)} · ∇f ${dg.toExponential(2)} · f ${dv.toExponential(2)}  (max |Δ| / max |float64|)`, dh <= 1e-4 ? 'good' : 'warn');
  } else if (ev.gpuError) setRow('gpu', 'WebGPU (float32)', ev.gpuError, 'warn');
  else setRow('gpu', 'WebGPU (float32)', useGpu.disabled ? gpuStatus.textContent || 'not available' : useGpu.checked ? 'press Evaluate to run the WGSL kernels' : 'off (tick WebGPU, then Evaluate)', 'muted');
  if (ev.eigenvalues) {
    const e = ev.eigenvalues;
    const tol = n * Number.EPSILON * maxAbs(e);
    const neg = e.filter((x) => x < -tol).length;
    const zero = e.filter((x) => Math.abs(x) <= tol).length;
    const minAbs = e.reduce((m, x) => Math.min(m, Math.abs(x)), Infinity);
    const cond = minAbs === 0 ? Infinity : maxAbs(e) / minAbs;
    setRow('eig', 'spectrum', `λ ∈ [${fmt(e[0]!)}, ${fmt(e[n - 1]!)}] · ${neg} negative, ${zero} ≈ 0 · cond ${Number.isFinite(cond) ? fmt(cond) : '∞'} · ${timeText(ev.eigenMs)}`);
  } else setRow('eig', 'spectrum', ev.eigenNote, 'muted');
  drawFigures();
}

function timeText(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(1)} ms` : ms >= 0.01 ? `${(ms * 1000).toFixed(0)} µs` : `${(ms * 1000).toFixed(2)} µs`;
}

function drawFigures(): void {
  const ev = evaluation;
  const c = current;
  if (!ev || !c) return;
  // The WebGPU result's error, entry by entry, when there is one and it is asked for.
  const diffOption = heatView.querySelector<HTMLOptionElement>('option[value=diff]')!;
  diffOption.disabled = !ev.gpu;
  if (!ev.gpu && heatView.value === 'diff') heatView.value = 'h';
  const n = c.model.n;
  if (heatView.value === 'diff' && ev.gpu) {
    const d = new Float64Array(n * n);
    for (let k = 0; k < d.length; k++) d[k] = ev.gpu.hessian[k]! - ev.cpu.hessian[k]!;
    geometry = drawHeatMap(heatmap, d, c.model, scaleSelect.value as Scale);
    heatmapCaption.textContent = `float32 (WebGPU) − float64 (CPU), ${n} × ${n} · hover for values`;
  } else {
    geometry = drawHeatMap(heatmap, ev.cpu.hessian, c.model, scaleSelect.value as Scale);
    heatmapCaption.textContent = `H in float64, ${n} × ${n} · hover for values`;
  }
  if (ev.eigenvalues) {
    drawSpectrum(spectrum, ev.eigenvalues);
    spectrumCaption.textContent = `eigenvalues of H (${ev.eigenvalues.length}, symmetric-log axis)`;
  } else {
    spectrum.getContext('2d')!.clearRect(0, 0, spectrum.width, spectrum.height);
    spectrumCaption.textContent = `no spectrum: ${ev.eigenNote}`;
  }
}

function renderStructure(): void {
  const c = current;
  if (!c) return;
  const spy = $('spy');
  const report = $('report');
  let r: ReturnType<typeof inspect>;
  try {
    r = inspect(c.source, c.path, { dims });
  } catch (e) {
    // A bug in inspect must not take the rest of the page down with it.
    spy.replaceChildren();
    report.textContent = `inspect failed: ${(e as Error).message}`;
    return;
  }
  if (!r.ok) {
    spy.replaceChildren();
    report.textContent = r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n');
    return;
  }
  // spySvg gives a standalone SVG document made by our own code from the model: safe to parse.
  const doc = new DOMParser().parseFromString(spySvg(r.report, { size: 520 }), 'image/svg+xml');
  const svg = doc.documentElement;
  if (svg.nodeName === 'svg') spy.replaceChildren(document.importNode(svg, true));
  else spy.textContent = 'the spy plot could not be drawn';
  report.textContent = formatReport(r.report);
}

// ---------------------------------------------------------------- wiring
for (const ex of examples) {
  const o = document.createElement('option');
  o.value = ex.name;
  o.textContent = ex.path;
  exampleSelect.append(o);
}
function loadExample(name: string): void {
  const ex = examples.find((e) => e.name === name) ?? examples[0];
  if (!ex) return;
  exampleSelect.value = ex.name;
  history.replaceState(null, '', `#${encodeURIComponent(ex.name)}`); // a link to this example
  sourcePath = ex.path;
  editor.value = ex.source;
  if (debounce !== null) {
    clearTimeout(debounce);
    debounce = null;
    settle();
  }
  void enqueue(recompile);
}
exampleSelect.addEventListener('change', () => loadExample(exampleSelect.value));

for (const tab of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) {
  tab.addEventListener('click', () => {
    for (const t of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) t.setAttribute('aria-selected', String(t === tab));
    for (const p of document.querySelectorAll<HTMLElement>('.panel')) p.hidden = p.dataset.panel !== tab.dataset.tab;
    if (tab.dataset.tab === 'hessian') drawFigures();
  });
}

$('randomize').addEventListener('click', () => {
  void enqueue(async () => {
    if (!current) return;
    ensureInputs(current.model, true);
    await evaluate(useGpu.checked);
  });
});
$('evaluate').addEventListener('click', () => void enqueue(() => evaluate(true)));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void enqueue(() => evaluate(true));
  }
});
inputsText.addEventListener('input', () => {
  inputsEdited = true;
});
scaleSelect.addEventListener('change', () => drawFigures());
heatView.addEventListener('change', () => drawFigures());
let resizeTimer: ReturnType<typeof setTimeout> | null = null;
window.addEventListener('resize', () => {
  if (resizeTimer) clearTimeout(resizeTimer);
  resizeTimer = setTimeout(drawFigures, 100);
});
heatmap.addEventListener('mousemove', (e) => {
  const ev = evaluation;
  const c = current;
  if (!ev || !c || !geometry) return;
  const rect = heatmap.getBoundingClientRect();
  const at = entryAt(geometry, e.clientX - rect.left, e.clientY - rect.top);
  if (!at) return;
  const k = at.i * c.model.n + at.j;
  const gpu = ev.gpu ? ` · float32 ${ev.gpu.hessian[k]!.toPrecision(7)} (Δ ${fmt(ev.gpu.hessian[k]! - ev.cpu.hessian[k]!)})` : '';
  heatmapCaption.textContent = `∂²f / ∂${thetaLabel(c.model, at.i)} ∂${thetaLabel(c.model, at.j)} = ${ev.cpu.hessian[k]!.toPrecision(10)}${gpu}`;
});

/** For scripts and the browser test: wait for the page to settle, then read what it shows. */
const api = {
  idle,
  diagnostics: (): Diagnostic[] => diagnostics,
  /**
   * The colour the heat map shows for entry (i, j), read from the canvas at the centre of the
   * entry's cell, as [r, g, b] (null outside the matrix or before an evaluation).
   */
  heatmapColour: (i: number, j: number): [number, number, number] | null => {
    const g = geometry;
    if (!g || i < 0 || j < 0 || i >= g.n || j >= g.n) return null;
    const ratio = heatmap.width / (heatmap.clientWidth || heatmap.width);
    const x = Math.floor((g.x0 + ((j + 0.5) * g.size) / g.n) * ratio);
    const y = Math.floor((g.y0 + ((i + 0.5) * g.size) / g.n) * ratio);
    const d = heatmap.getContext('2d')!.getImageData(x, y, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!];
  },
  model: (): ModelShape | null => current?.model ?? null,
  evaluation: () => {
    const ev = evaluation;
    if (!ev) return null;
    const data: Record<string, number | number[]> = {};
    for (const [k, v] of Object.entries(ev.inputs.data)) data[k] = typeof v === 'number' ? v : Array.from(v);
    return {
      theta: Array.from(ev.inputs.theta),
      data,
      cpu: { value: ev.cpu.value, gradient: Array.from(ev.cpu.gradient), hessian: Array.from(ev.cpu.hessian) },
      gpu: ev.gpu ? { value: ev.gpu.value, gradient: Array.from(ev.gpu.gradient), hessian: Array.from(ev.gpu.hessian) } : null,
      gpuError: ev.gpuError,
      eigenvalues: ev.eigenvalues ? Array.from(ev.eigenvalues) : null,
    };
  },
};
(window as unknown as { hessgenPlayground: typeof api }).hessgenPlayground = api;

initGpu();
// `#logreg` in the URL opens that example; otherwise the MLP classifier (the richest Hessian).
const wanted = decodeURIComponent(location.hash.slice(1));
loadExample(examples.some((e) => e.name === wanted) ? wanted : examples.some((e) => e.name === 'mlp_classifier') ? 'mlp_classifier' : (examples[0]?.name ?? ''));
