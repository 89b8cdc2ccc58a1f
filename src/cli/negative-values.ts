import type { ParseArgsConfig } from 'node:util';

/**
 * `--seed -1` as `--seed=-1`. node:util's parseArgs takes a value that starts with '-' for an
 * option of its own and refuses it as ambiguous ("use --seed=-XYZ"), so a negative number after an
 * option that takes a value is joined to it first, and the option's own check then says what
 * range it takes.
 */
export function joinNegativeValues(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
