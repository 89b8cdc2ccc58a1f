/** Plain-text tables and other terminal matters. */

import { STDERR_TTY } from '../node/noise.js';

/** Whether stderr reaches a terminal (through the parent's noise filter, too): progress then redraws one line. */
export const stderrIsTerminal = () => process.stderr.isTTY === true || process.env[STDERR_TTY] === '1';

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A number with `digits` significant digits, in fixed or exponent form, whichever is shorter. */
export function sig(value: number, digits = 8): string {
  if (!Number.isFinite(value)) return String(value);
  const fixed = value.toPrecision(digits);
  return fixed.includes('e') ? value.toExponential(digits - 1) : fixed;
}
