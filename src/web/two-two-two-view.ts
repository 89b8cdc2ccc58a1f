/**
 * The 2-2-2 view: the spreadsheet's network on the GPU, one row (one forward/backward pass and
 * update) at a time. Shows the network with its live weights; for the current row E1, E2, E_total
 * and the eight ∂E/∂w with the write-up's chain-rule factors (float64, from the row's weights)
 * beside the GPU's values; and one loss curve per learning rate, like the write-up's plot.
 */
import type { GpuContext } from '../gpu/context.js';
import { SHEET_EXAMPLE, TwoTwoTwo, runTwoTwoTwo, type GradientMode, type TwoTwoTwoRow } from '../models/two-two-two.js';
import { SHEET_FINAL_E_TOTAL } from '../bench/scenarios.js';
import { lineChart } from './charts.js';
import { derivation } from './derivation.js';
import { el, numberInput, sleep } from './dom.js';

function networkSvg(weights: readonly number[]): string {
  const nodes = { i1: [60, 70], i2: [60, 210], h1: [260, 70], h2: [260, 210], o1: [460, 70], o2: [460, 210] } as const;
  const edges: [keyof typeof nodes, keyof typeof nodes, number][] = [
    ['i1', 'h1', 0], ['i2', 'h1', 1], ['i1', 'h2', 2], ['i2', 'h2', 3],
    ['h1', 'o1', 4], ['h2', 'o1', 5], ['h1', 'o2', 6], ['h2', 'o2', 7],
  ];
  const lines = edges.map(([a, b, k]) => {
    const [x1, y1] = nodes[a];
    const [x2, y2] = nodes[b];
    const w = weights[k]!;
    const t = k % 2 === 0 ? 0.3 : 0.7;
    const lx = x1 + (x2 - x1) * t;
    const ly = y1 + (y2 - y1) * t - 6;
    return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${w >= 0 ? '#2f6fdb' : '#e4572e'}" stroke-width="${(1 + 3 * Math.min(1, Math.abs(w))).toFixed(2)}" opacity="0.75"/>` +
      `<text x="${lx}" y="${ly}" text-anchor="middle" fill="#1d2330">w${k + 1}=${w.toFixed(4)}</text>`;
  });
  const circles = Object.entries(nodes).map(([name, [x, y]]) => `<circle cx="${x}" cy="${y}" r="22" fill="white" stroke="#344054" stroke-width="1.5"/><text x="${x}" y="${y + 4}" text-anchor="middle">${name}</text>`);
  return `<svg viewBox="0 0 520 280" width="520" height="280" role="img" aria-label="2-2-2 network with its weights">${lines.join('')}${circles.join('')}</svg>`;
}

export async function mountTwoTwoTwoView(root: HTMLElement, ctx: GpuContext): Promise<void> {
  const lr = numberInput('learning rate η', SHEET_EXAMPLE.learningRate, { step: 'any', integer: false, min: 0, testid: 'lr' });
  const rowsInput = numberInput('rows', SHEET_EXAMPLE.rows, { min: 1, max: 10000, testid: 'rows' });
  const sheetMode = el('input', { type: 'checkbox', 'data-testid': 'spreadsheet-formula' });
  const stepButton = el('button', { type: 'button', 'data-testid': 'step' }, 'Step');
  const runButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'run' }, 'Run');
  const resetButton = el('button', { type: 'button', 'data-testid': 'reset' }, 'Reset');
  const status = el('span', { class: 'muted', 'data-testid': 'two-two-two-status' });
  const network = el('div');
  const summary = el('div', { 'data-testid': 'two-two-two-row' });
  const gradients = el('table');
  const lrList = el('input', { type: 'text', value: '0.1,0.5,1,2', 'data-testid': 'lr-list' }) as HTMLInputElement;
  const plotButton = el('button', { type: 'button' }, 'Plot');
  const chartBox = el('div');

  root.append(
    el('div', { class: 'panel' },
      el('h2', {}, 'The spreadsheet’s 2-2-2 network, on the GPU'),
      el('p', { class: 'muted' }, 'One sample (i = 0.05, 0.1; t = 0.5, 0.5), sigmoid units, no biases, E_total = ½Σ(t − a_o)². Each step is one forward and backward pass and the update of all eight weights, as one row of the sheet.'),
      el('div', { class: 'controls' }, lr.label, rowsInput.label, el('label', {}, sheetMode, 'the sheet’s formula for ∂E/∂w3, ∂E/∂w4'), stepButton, runButton, resetButton, status),
    ),
    el('div', { class: 'row' }, el('div', { class: 'panel' }, network), el('div', { class: 'panel' }, summary)),
    el('div', { class: 'panel' }, el('h2', {}, '∂E_total/∂w at the current row'), gradients),
    el('div', { class: 'panel' }, el('h2', {}, 'Loss curves for several learning rates'), el('div', { class: 'controls' }, el('label', {}, 'η list', lrList), plotButton), chartBox),
  );
  const chart = lineChart(chartBox, { title: 'E_total by update', xLabel: 'update', yLabel: 'E_total', series: [], logY: true, width: 700 });

  let net: TwoTwoTwo | undefined;
  let next = 0;
  let running = false;
  let generation = 0;
  const mode = (): GradientMode => ((sheetMode as HTMLInputElement).checked ? 'spreadsheet' : 'true');

  const show = (row: TwoTwoTwoRow | undefined) => {
    const weights = row?.weights ?? SHEET_EXAMPLE.weights;
    network.innerHTML = networkSvg(weights);
    if (!row) {
      summary.innerHTML = '<p class="muted">Press Step or Run.</p>';
      gradients.innerHTML = '';
      return;
    }
    const rowsTotal = net?.options.rows ?? 0;
    summary.innerHTML = '';
    summary.append(
      el('h2', {}, `Row ${row.row + 1} of ${rowsTotal}: after ${row.row} update${row.row === 1 ? '' : 's'}`),
      el('table', {},
        el('tr', {}, el('th', { class: 'left' }, 'E1 = ½(t1 − a_o1)²'), el('td', { 'data-testid': 'e1' }, row.E1.toPrecision(10))),
        el('tr', {}, el('th', { class: 'left' }, 'E2 = ½(t2 − a_o2)²'), el('td', { 'data-testid': 'e2' }, row.E2.toPrecision(10))),
        el('tr', {}, el('th', { class: 'left' }, 'E_total'), el('td', { 'data-testid': 'e-total' }, row.E_total.toPrecision(10))),
        el('tr', {}, el('th', { class: 'left' }, 'the sheet after 63 updates'), el('td', {}, String(SHEET_FINAL_E_TOTAL))),
      ),
    );
    const derived = derivation(row.weights, net?.options.gradient ?? 'true');
    gradients.innerHTML = '';
    gradients.append(el('tr', {}, el('th', {}, 'w'), el('th', { class: 'left' }, 'chain rule (write-up)'), el('th', {}, 'float64'), el('th', {}, 'GPU (f32)')));
    derived.forEach((d, k) => {
      gradients.append(el('tr', {}, el('td', {}, `∂E/∂w${k + 1}`), el('td', { class: 'left formula' }, d.formula), el('td', {}, d.value.toExponential(8)), el('td', { 'data-testid': `grad-w${k + 1}` }, row.gradients[k]!.toExponential(8))));
    });
  };

  const reset = async () => {
    generation++;
    running = false;
    runButton.textContent = 'Run';
    stepButton.disabled = false;
    delete root.dataset.done;
    let rows: number, learningRate: number;
    try {
      rows = rowsInput.value();
      learningRate = lr.value();
    } catch (e) {
      // A bad field: said on the page, and no stepping the old network while the field shows another.
      status.textContent = (e as Error).message;
      status.classList.add('error');
      stepButton.disabled = true;
      runButton.disabled = true;
      return false;
    }
    status.classList.remove('error');
    runButton.disabled = false;
    net = await TwoTwoTwo.create(ctx, { learningRate, rows, gradient: mode() });
    next = 0;
    status.textContent = `η = ${learningRate}, ${rows} rows, ${mode() === 'true' ? 'true gradient' : 'the sheet’s formula'}`;
    show(undefined);
    return true;
  };

  /** Records the next row (claimed before any await, so a double click cannot record it twice). */
  const step = async (): Promise<boolean> => {
    const current = net;
    if (!current || next >= current.options.rows) return false;
    const row = next++;
    ctx.submit(`2-2-2 row ${row}`, (encoder) => current.recordRow(encoder, row));
    const rows = await current.readRows(ctx);
    if (current !== net) return false; // reset meanwhile
    show(rows[row]);
    root.dataset.updates = String(row);
    return row + 1 < current.options.rows;
  };

  const run = async () => {
    if (running) return;
    running = true;
    const mine = generation;
    runButton.textContent = 'Running…';
    stepButton.disabled = true;
    while (running && mine === generation && (await step())) await sleep(10);
    if (mine !== generation) return; // a reset started a new run
    running = false;
    runButton.textContent = 'Run';
    stepButton.disabled = false;
    if (net && next >= net.options.rows) root.dataset.done = 'true';
  };

  const plot = async () => {
    const rates = lrList.value.split(',').map(Number).filter((x) => Number.isFinite(x) && x > 0);
    if (rates.length === 0) {
      lrList.setCustomValidity('learning rates: positive numbers separated by commas');
      lrList.reportValidity();
      return;
    }
    lrList.setCustomValidity('');
    let rows: number;
    try {
      rows = rowsInput.value();
    } catch (e) {
      status.textContent = (e as Error).message;
      status.classList.add('error');
      return;
    }
    const runs = await runTwoTwoTwo(ctx, { learningRates: rates, rows, gradient: mode() });
    const x = runs[0]!.rows.map((r) => r.row);
    chart.setSeries(runs.map((r) => `η = ${r.learningRate}`), x, runs.map((r) => r.rows.map((row) => row.E_total)));
  };

  stepButton.addEventListener('click', () => void step());
  runButton.addEventListener('click', () => void run());
  // A field the reset refused (said in the status) plots nothing either.
  const resetAndPlot = () => void reset().then((ok) => (ok ? plot() : undefined));
  resetButton.addEventListener('click', resetAndPlot);
  sheetMode.addEventListener('change', resetAndPlot);
  lr.input.addEventListener('change', () => void reset());
  rowsInput.input.addEventListener('change', resetAndPlot);
  plotButton.addEventListener('click', () => void plot());
  await reset();
  await plot();
  root.dataset.ready = 'true';
}
