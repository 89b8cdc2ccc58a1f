/** The page's chain-rule derivation of the 2-2-2 gradients equals the reference, in both modes. */
import { describe, expect, it } from 'vitest';
import { SHEET_EXAMPLE } from '../../src/models/two-two-two.js';
import { twoTwoTwoGradientRef, twoTwoTwoRef } from '../../src/reference/two-two-two.js';
import { derivation } from '../../src/web/derivation.js';

describe('derivation (the 2-2-2 view)', () => {
  for (const mode of ['true', 'spreadsheet'] as const) {
    it(`matches the reference gradients at rows 0, 1 and 63 (${mode})`, () => {
      const rows = twoTwoTwoRef({ ...SHEET_EXAMPLE, rows: 64, spreadsheetDerivative: mode === 'spreadsheet' });
      for (const row of [rows[0]!, rows[1]!, rows[63]!]) {
        const shown = derivation(row.weights, mode).map((d) => d.value);
        const want = twoTwoTwoGradientRef(row.weights, SHEET_EXAMPLE.inputs, SHEET_EXAMPLE.targets, mode === 'spreadsheet').gradients;
        shown.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 15));
      }
    });
  }

  it('writes the sheet’s a_h1 factor into ∂E/∂w3 only in spreadsheet mode', () => {
    expect(derivation(SHEET_EXAMPLE.weights, 'spreadsheet')[2]!.formula).toContain('a_h1(1−a_h1)');
    expect(derivation(SHEET_EXAMPLE.weights, 'true')[2]!.formula).toContain('a_h2(1−a_h2)');
  });
});
