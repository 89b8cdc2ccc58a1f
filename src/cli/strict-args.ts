/**
 * The CLI's flags, parsed strictly (node:util's parseArgs, plus the checks below), for every
 * command: `mnist`, `check`, `evaluate`, `classify`, `tune`, `222`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { joinNegativeValues } from './negative-values.js';

export type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * The flags, strictly: an unknown flag, a flag given twice (which value would count?) or an empty
 * value (an unset shell variable: `--init "$RUN"` would otherwise start from scratch) is refused.
 */
export function parse(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>, positionals = false): { values: Values; positionals: string[] } {
  const parsed = parseArgs({ args: joinNegativeValues(argv, options), options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: positionals, tokens: true });
  const seen = new Map<string, string | undefined>();
  for (const any of parsed.tokens) {
    if (any.kind !== 'option') continue;
    const token = any as { name: string; value?: string };
    if (token.value === '') throw new Error(`--${token.name}: expected a value, got ''`);
    if (seen.has(token.name) && !options[token.name]?.multiple) {
      const values = [seen.get(token.name), token.value].filter((v) => v !== undefined).map((v) => `'${v}'`);
      throw new Error(`--${token.name}: given twice${values.length === 2 ? ` (${values.join(', then ')})` : ''}; give it once`);
    }
    seen.set(token.name, token.value);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

/**
 * A flag's number, written in decimal (an optional sign, digits with an optional point, an
 * optional exponent; spaces around it ignored), else NaN: Number() would also take hex ('0x10'),
 * binary, 'Infinity' and '' (0). A nonzero literal that rounds to 0 or past the largest double
 * (1e-400, 1e400) is NaN too: its meaning would be lost (`roundedAway` says why).
 */
export function flagNumber(text: string): number {
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return NaN;
  const v = Number(t);
  return Number.isFinite(v) && !(v === 0 && /[1-9]/.test(t.replace(/[eE].*$/, ''))) ? v : NaN;
}

/** ' (… rounds to 0)' or ' (… is past the largest number)' where a decimal literal's value was lost (flagNumber), else ''. */
export function roundedAway(text: string): string {
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return '';
  const v = Number(t);
  if (!Number.isFinite(v)) return ` (${t} is past the largest number)`;
  return v === 0 && /[1-9]/.test(t.replace(/[eE].*$/, '')) ? ` (${t} rounds to 0)` : '';
}
