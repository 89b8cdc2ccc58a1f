/**
 * Dawn's event polling in Node, put on a timer.
 *
 * While a promise of Dawn's is pending (`onSubmittedWorkDone`, `mapAsync`, a pipeline compiled
 * asynchronously), the npm `webgpu` binding polls for its completion by calling the global
 * `setImmediate` again from each poll (the TODO of crbug.com/dawn/1127 in its AsyncRunner). An
 * event loop with an immediate always queued never sleeps: the main thread takes a whole core for
 * as long as the GPU works. With a software adapter that core is one of the driver's. On 2 cores
 * with lavapipe, convblock2's forward at batch 128 (20 dispatches in one submission, the main
 * thread's CPU time read from /proc) took 25.7–32.0 ms a dispatch while the main thread spent
 * 410–490 ms of CPU in a 510–640 ms wait, and 12.2–15.4 ms with Dawn's polls on a 1 ms timer
 * (0–20 ms of CPU). Awaiting with timer sleeps does not help: the polls come from Dawn, not from
 * the awaiting code.
 *
 * So Dawn's polls go through `setTimeout(poll, POLL_INTERVAL_MS)`: a promise resolves at most
 * about a millisecond later, and the main thread sleeps between polls. Dawn's poll is told apart
 * by its shape (`isDawnPoll`); every other `setImmediate` call in the process reaches Node's own.
 */

/** How long the event loop sleeps between two of Dawn's polls while a promise of Dawn's is pending. */
export const POLL_INTERVAL_MS = 1;

const installed = Symbol.for('webgpu-backprop.dawnPollingThrottled');

/**
 * Whether a `setImmediate` callback is Dawn's poll: an N-API function made without a name, that is
 * native code with an empty name, no parameters and a `prototype` of its own. A promise's resolve
 * function (`new Promise((r) => setImmediate(r))`, a common way to yield) is native and unnamed
 * too, but takes one parameter and has no prototype; so have bound functions.
 */
export function isDawnPoll(callback: unknown): boolean {
  return (
    typeof callback === 'function' &&
    callback.name === '' &&
    callback.length === 0 &&
    Object.hasOwn(callback, 'prototype') &&
    Function.prototype.toString.call(callback).includes('[native code]')
  );
}

/** Routes Dawn's polls through a timer (once per process; later calls do nothing). */
export function throttleDawnPolling(): void {
  const global = globalThis as typeof globalThis & { [installed]?: true };
  if (global[installed]) return;
  const nodeSetImmediate = global.setImmediate;
  const throttled = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    isDawnPoll(callback) ? setTimeout(callback, POLL_INTERVAL_MS, ...args) : nodeSetImmediate(callback, ...args);
  // util.promisify(setImmediate) and the like keep working: the custom promisified form is Node's.
  Object.assign(throttled, nodeSetImmediate);
  global.setImmediate = throttled as unknown as typeof setImmediate;
  global[installed] = true;
}
