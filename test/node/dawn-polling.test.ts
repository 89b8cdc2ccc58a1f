/**
 * Dawn's polls on a timer (src/node/dawn-polling.ts): while the GPU works, the main thread sleeps
 * instead of taking a core from a software adapter; every other setImmediate is Node's own.
 */
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { allocateConvPacked, bindConv2d, conv2dParams } from '../../src/kernels/conv2d.js';
import { isDawnPoll, throttleDawnPolling } from '../../src/node/dawn-polling.js';
import { gpuTest } from '../helpers/gpu.js';

test('only a native callback with no name is taken for Dawn\'s poll', () => {
  // Dawn's poll is an N-API function: native code, no name. A bound function is native code too.
  const native = Object.defineProperty(function poll() {}.bind(null), 'name', { value: '' });
  expect(Function.prototype.toString.call(native)).toContain('[native code]');
  expect(isDawnPoll(native)).toBe(true);
  expect(isDawnPoll(function poll() {}.bind(null))).toBe(false);
  expect(isDawnPoll(() => {})).toBe(false);
  expect(isDawnPoll(function () {})).toBe(false);
  expect(isDawnPoll(undefined)).toBe(false);
});

test('every other setImmediate is Node\'s: it runs before a timer, can be cleared, and promisifies', async () => {
  throttleDawnPolling();
  throttleDawnPolling(); // once per process
  const order: string[] = [];
  await new Promise<void>((done) => {
    setTimeout(() => {
      order.push('timer');
      done();
    }, 5);
    setImmediate((tag: string) => order.push(tag), 'immediate');
    clearImmediate(setImmediate(() => order.push('cleared')));
  });
  expect(order).toEqual(['immediate', 'timer']);
  expect(await promisify(setImmediate)('value')).toBe('value');
  // Dawn's poll, though, goes to a timer (a Node Timeout, not an Immediate), and still runs.
  const ran: string[] = [];
  const poll = Object.defineProperty((() => ran.push('poll')).bind(null), 'name', { value: '' });
  expect((setImmediate(poll) as unknown as object).constructor.name).toBe('Timeout');
  expect((setImmediate(() => ran.push('other')) as unknown as object).constructor.name).toBe('Immediate');
  await new Promise((r) => setTimeout(r, 20));
  expect(ran.sort()).toEqual(['other', 'poll']);
});

/** CPU ms the process's main thread has used (Linux: utime + stime of its task, in 10 ms ticks). */
function mainThreadCpuMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

gpuTest('while the GPU works, the main thread sleeps (its CPU time is a small part of the wait)', async (ctx, t) => {
  if (process.platform !== 'linux') t.skip('reads the main thread\'s CPU time from /proc');
  const p = conv2dParams({ batch: 32, inChannels: 16, height: 26, width: 26, outChannels: 32, kernelH: 3, kernelW: 3, stride: 1, padding: 0 });
  const scope = ctx.scoped(() => ({
    input: ctx.tensor('x', [p.batch * 16 * 26 * 26]),
    weight: ctx.tensor('w', [32 * 16 * 9]),
    output: ctx.tensor('y', [p.batch * 32 * 24 * 24]),
    packed: allocateConvPacked(ctx, 'w', p, 'forward', { rows: 4, channels: 16, workgroup: 64 }),
  }));
  const { input, weight, output, packed } = scope.value;
  const list = await bindConv2d(ctx, p, packed, { input, weight, output });
  try {
    const run = (times: number) =>
      ctx.submit('busy', (encoder) => {
        const pass = encoder.beginComputePass();
        for (let i = 0; i < times; i++) for (const d of list) d.record(pass);
        pass.end();
      });
    run(1);
    await ctx.sync();
    // Enough work for a quarter of a second or more on a software adapter.
    const start = performance.now();
    const cpu = mainThreadCpuMs();
    run(40);
    await ctx.sync();
    const wall = performance.now() - start;
    const used = mainThreadCpuMs() - cpu;
    if (wall < 100) t.skip(`the work took ${wall.toFixed(0)} ms: too short to tell (a fast GPU)`);
    // Dawn's polls without the timer kept the main thread busy for 80–90 % of such a wait; with
    // it, 0–20 ms in 250 ms. A third leaves room for the scheduler's 10 ms ticks and a busy machine.
    expect(used, `main thread CPU ${used} ms in a ${wall.toFixed(0)} ms wait`).toBeLessThan(wall / 3);
  } finally {
    for (const d of list) d.destroy?.();
    scope.destroy();
  }
}, 60_000);
