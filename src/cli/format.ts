/** Plain-text tables for the terminal. */

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
