/**
 * Saves self-checking payloads to one path with writeFileAtomic, over and over, until killed:
 * `node --import ./bin/register.js test/helpers/atomic-write-loop.ts PATH BYTES`. Once a line comes
 * on stdin, prints "ready FIRST" (the counter of its first save) and starts; then prints
 * "saved COUNTER" after each completed save.
 */
import { writeFileAtomic } from '../../src/node/atomic-write.js';
import { makePayload } from './atomic-payload.js';

const [path, size] = process.argv.slice(2);
const bytes = Number(size);
if (!path || !Number.isInteger(bytes)) {
  process.stderr.write('usage: atomic-write-loop.ts PATH BYTES\n');
  process.exit(2);
}
// Started ahead of time, the loop waits for a line on stdin before it saves anything.
await new Promise((go) => process.stdin.once('data', go));
const start = Math.floor(Math.random() * 2 ** 31); // so that runs differ
process.stdout.write(`ready ${start}\n`);
for (let n = 0; ; n++) {
  await writeFileAtomic(path, makePayload(start + n, bytes));
  process.stdout.write(`saved ${start + n}\n`);
}
