/**
 * The benchmark harnesses' command lines: `--help` prints the harness's own doc comment (the one
 * place its options are described), and a bad option or value ends the run with one line naming
 * the command and the flag (exit status 2), before any work: no stack trace, no adapter started.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { joinNegativeValues } from '../src/cli/negative-values.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Ends the run with a usage error: `command: message`, exit status 2. */
export function usageError(command: string, message: string): never {
  console.error(`${command}: ${message} (--help lists the options)`);
  process.exit(2);
}

/** The leading doc comment of a file, without its comment markers. */
export function docComment(file: string): string {
  const text = readFileSync(file, 'utf8');
  const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!m) return '';
  return m[1]!
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/**
 * Parses a harness's options (strict: unknown options and positionals are refused); `--help` / `-h`
 * prints the doc comment of the file at `moduleUrl` (pass `import.meta.url`) and exits.
 */
export function harnessArgs<const O extends Options>(moduleUrl: string, command: string, options: O): ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'] {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: joinNegativeValues(process.argv.slice(2), options), options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (e) {
    usageError(command, e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e));
  }
  if (values.help) {
    console.log(docComment(fileURLToPath(moduleUrl)));
    process.exit(0);
  }
  delete values.help;
  return values as ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'];
}

/** A whole-number option in [min, max] (`fallback` when absent), else a usage error naming the flag. */
export function wholeOption(command: string, values: Record<string, unknown>, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    usageError(command, `--${name} takes a whole number${max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` from ${min} to ${max}`}, got '${String(raw)}'`);
  }
  return v;
}
