#!/usr/bin/env node
// The `webgpu-backprop` command. An installed package runs the built command (dist/cli.js: no
// TypeScript at run time, no devDependency). In this repository, where src/ is beside it, it runs
// the TypeScript sources directly (tsx, WGSL as text), so an edit needs no rebuild.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/bin.ts', import.meta.url);
let cli;
if (existsSync(sources)) {
  await import('./register.js');
  cli = await import(sources.href);
} else {
  cli = await import('../dist/cli.js');
}
process.exitCode = await cli.runCli(process.argv.slice(2));
