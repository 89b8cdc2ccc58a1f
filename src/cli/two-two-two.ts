/**
 * `webgpu-backprop 222`: the spreadsheet's 2-2-2 back-propagation example on WebGPU.
 */
import { flagNumber, parse, roundedAway } from './strict-args.js';
import type { GpuContext } from '../gpu/context.js';
import { SHEET_EXAMPLE, runTwoTwoTwo, type GradientMode, type TwoTwoTwoRun } from '../models/two-two-two.js';
import { twoTwoTwoRef } from '../reference/two-two-two.js';
import { formatTable, sig } from './format.js';

export const TWO_TWO_TWO_HELP = `Usage: webgpu-backprop 222 [options]

Runs the 2-2-2 back-propagation example of the spreadsheet on WebGPU (SPEC.md §1): inputs
0.05, 0.1, targets 0.5, 0.5, weights w1..w8 = 0.15 … 0.55, sigmoid units, no biases, plain
gradient descent. Row k holds the weights after k updates and E_total at those weights.

Options:
  --lr RATES          learning rate(s), comma-separated or repeated (default 1.0, the sheet's);
                      several rates print one E_total column each, like the write-up's loss plot
  --iterations N      weight updates (default 63: 64 rows, as in the sheet)
  --gradient MODE     true (default): exact back-propagation;
                      spreadsheet: the sheet's ∂E/∂w3, ∂E/∂w4 formula, which uses a_h1(1−a_h1)
                      where a_h2(1−a_h2) belongs (SPEC.md explains the slip)
  --gradients         also print ∂E/∂w1 … ∂E/∂w8 for each row
  --json              machine-readable output
  -h, --help          this help
`;

export interface TwoTwoTwoArgs {
  learningRates: number[];
  rows: number;
  gradient: GradientMode;
  gradients: boolean;
  json: boolean;
  help: boolean;
}

export function parseTwoTwoTwoArgs(argv: readonly string[]): TwoTwoTwoArgs {
  const options = {
    lr: { type: 'string', multiple: true },
    iterations: { type: 'string' },
    gradient: { type: 'string' },
    gradients: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  } as const;
  // Strict: --iterations given twice or empty ('') is refused, not taken as 3 or 0.
  const { values } = parse(argv, options) as { values: { lr?: string[]; iterations?: string; gradient?: string; gradients?: boolean; json?: boolean; help?: boolean } };
  const learningRates = (values.lr ?? [String(SHEET_EXAMPLE.learningRate)]).flatMap((s) => s.split(',')).map((s) => {
    const v = flagNumber(s);
    if (!Number.isFinite(v)) throw new Error(`--lr: expected numbers such as 1.0 or 0.1,0.5,1.0, got '${s}'${roundedAway(s)}`);
    return v;
  });
  const iterations = values.iterations === undefined ? SHEET_EXAMPLE.rows - 1 : flagNumber(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 0 || iterations > 100_000) {
    throw new Error(`--iterations: expected a whole number from 0 to 100000, got '${values.iterations}'`);
  }
  const gradient = values.gradient ?? 'true';
  if (gradient !== 'true' && gradient !== 'spreadsheet') {
    throw new Error(`--gradient: expected 'true' or 'spreadsheet', got '${gradient}'`);
  }
  return { learningRates, rows: iterations + 1, gradient, gradients: values.gradients ?? false, json: values.json ?? false, help: values.help ?? false };
}

/** Largest |GPU − float64 reference| over every row, for E_total and for the weights. */
export function deviationFromReference(run: TwoTwoTwoRun): { E_total: number; weights: number } {
  const ref = twoTwoTwoRef({
    weights: SHEET_EXAMPLE.weights,
    inputs: SHEET_EXAMPLE.inputs,
    targets: SHEET_EXAMPLE.targets,
    learningRate: run.learningRate,
    rows: run.rows.length,
    spreadsheetDerivative: run.gradient === 'spreadsheet',
  });
  let dE = 0;
  let dW = 0;
  run.rows.forEach((row, r) => {
    dE = Math.max(dE, Math.abs(row.E_total - ref[r]!.E_total));
    row.weights.forEach((w, i) => (dW = Math.max(dW, Math.abs(w - ref[r]!.weights[i]!))));
  });
  return { E_total: dE, weights: dW };
}

export function formatTwoTwoTwo(runs: readonly TwoTwoTwoRun[], withGradients: boolean): string {
  const first = runs[0]!;
  let table: string;
  if (runs.length === 1) {
    const header = ['row', 'E_total', ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `w${i}`)];
    if (withGradients) header.push(...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `dE/dw${i}`));
    const rows = first.rows.map((r) => [
      String(r.row),
      sig(r.E_total),
      ...r.weights.map((w) => sig(w)),
      ...(withGradients ? r.gradients.map((g) => sig(g)) : []),
    ]);
    table = formatTable(header, rows);
  } else {
    const header = ['row', ...runs.map((run) => `E_total η=${run.learningRate}`)];
    const rows = first.rows.map((_, i) => [String(i), ...runs.map((run) => sig(run.rows[i]!.E_total))]);
    table = formatTable(header, rows);
  }
  const checks = runs.map((run) => {
    const d = deviationFromReference(run);
    return `η=${run.learningRate}: max |GPU − float64 reference| E_total ${d.E_total.toExponential(1)}, weights ${d.weights.toExponential(1)}`;
  });
  const mode = first.gradient === 'spreadsheet' ? "the spreadsheet's ∂E/∂w3, ∂E/∂w4 formula" : 'exact back-propagation';
  return `2-2-2 network, ${first.rows.length} rows, ${mode}\n${table}\n${checks.join('\n')}`;
}

export async function twoTwoTwoCommand(argv: readonly string[], getContext: () => Promise<GpuContext>, out: (s: string) => void): Promise<number> {
  const args = parseTwoTwoTwoArgs(argv);
  if (args.help) {
    out(TWO_TWO_TWO_HELP);
    return 0;
  }
  const ctx = await getContext();
  const runs = await runTwoTwoTwo(ctx, { learningRates: args.learningRates, rows: args.rows, gradient: args.gradient });
  if (args.json) {
    out(
      JSON.stringify({
        adapter: ctx.adapter.summary,
        gradient: args.gradient,
        runs: runs.map((run) => ({
          learning_rate: run.learningRate,
          max_abs_deviation_from_float64_reference: deviationFromReference(run),
          rows: run.rows.map((r) => ({
            row: r.row,
            E1: r.E1,
            E2: r.E2,
            E_total: r.E_total,
            w: r.weights,
            dE_dw: r.gradients,
          })),
        })),
      }),
    );
  } else {
    out(formatTwoTwoTwo(runs, args.gradients));
  }
  return 0;
}
