/**
 * The 2-2-2 example on the GPU against the spreadsheet's numbers (test/fixtures, taken from
 * ../shared/seed/two-two-two.json): all 64 rows to 1e-6 absolute, both gradient modes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { runTwoTwoTwo, type GradientMode } from '../src/models/two-two-two.js';
import { gpuTest } from './helpers/gpu.js';

type Weights = Record<'w1' | 'w2' | 'w3' | 'w4' | 'w5' | 'w6' | 'w7' | 'w8', number>;
interface Golden {
  sheet_rows: (Weights & Record<string, number>)[];
  computed: Record<'sheet_mode' | 'correct_mode', Record<string, { E_total: number[]; weights_after_update_1: Weights; weights_row_64: Weights }>>;
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/two-two-two-golden.json', import.meta.url), 'utf8')) as Golden;
const W = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'w8'] as const;
const ATOL = 1e-6;

function maxAbs(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

describe('2-2-2 against the spreadsheet', () => {
  gpuTest('spreadsheet mode reproduces every row: E1, E2, E_total, w1..w8 and the eight ∂E/∂w', async (ctx) => {
    const [run] = await runTwoTwoTwo(ctx, { learningRates: [1.0], gradient: 'spreadsheet' });
    expect(run!.rows).toHaveLength(64);
    run!.rows.forEach((row, r) => {
      const sheet = golden.sheet_rows[r]!;
      expect(Math.abs(row.E_total - sheet.E_tot!), `row ${r} E_total`).toBeLessThanOrEqual(ATOL);
      expect(Math.abs(row.E1 - sheet.E1!), `row ${r} E1`).toBeLessThanOrEqual(ATOL);
      expect(Math.abs(row.E2 - sheet.E2!), `row ${r} E2`).toBeLessThanOrEqual(ATOL);
      expect(maxAbs(row.weights, W.map((w) => sheet[w])), `row ${r} w1..w8`).toBeLessThanOrEqual(ATOL);
      expect(maxAbs(row.gradients, W.map((_, i) => sheet[`dE_dw${i + 1}`]!)), `row ${r} ∂E/∂w`).toBeLessThanOrEqual(ATOL);
    });
    expect(run!.rows[63]!.E_total).toBeCloseTo(0.0002558554597, 8);
  });

  gpuTest('true-gradient mode matches the sheet’s E_total and every weight but w3, w4 (the slip) to 1e-6', async (ctx) => {
    const [run] = await runTwoTwoTwo(ctx, { learningRates: [1.0], gradient: 'true' });
    run!.rows.forEach((row, r) => {
      const sheet = golden.sheet_rows[r]!;
      expect(Math.abs(row.E_total - sheet.E_tot!), `row ${r} E_total`).toBeLessThanOrEqual(ATOL);
      for (const i of [0, 1, 4, 5, 6, 7]) expect(Math.abs(row.weights[i]! - sheet[W[i]!]), `row ${r} ${W[i]}`).toBeLessThanOrEqual(ATOL);
    });
    // The exact gradient moves w3 and w4 away from the sheet by up to 3.1e-6 (SPEC.md §1).
    const last = run!.rows[63]!;
    expect(Math.abs(last.weights[2]! - golden.sheet_rows[63]!.w3)).toBeGreaterThan(1e-6);
  });

  for (const mode of ['sheet_mode', 'correct_mode'] as const) {
    const gradient: GradientMode = mode === 'sheet_mode' ? 'spreadsheet' : 'true';
    gpuTest(`${mode}: the computed η series (0.1 … 2.0) in one run`, async (ctx) => {
      const rates = Object.keys(golden.computed[mode]);
      expect(rates).toEqual(['0.1', '0.2', '0.5', '0.8', '1.0', '2.0']);
      const runs = await runTwoTwoTwo(ctx, { learningRates: rates.map(Number), gradient });
      runs.forEach((run, k) => {
        const expected = golden.computed[mode][rates[k]!]!;
        expect(maxAbs(run.rows.map((r) => r.E_total), expected.E_total), `η=${rates[k]} E_total`).toBeLessThanOrEqual(ATOL);
        expect(maxAbs(run.rows[1]!.weights, W.map((w) => expected.weights_after_update_1[w])), `η=${rates[k]} row 1`).toBeLessThanOrEqual(ATOL);
        expect(maxAbs(run.rows[63]!.weights, W.map((w) => expected.weights_row_64[w])), `η=${rates[k]} row 63`).toBeLessThanOrEqual(ATOL);
      });
    });
  }
});
