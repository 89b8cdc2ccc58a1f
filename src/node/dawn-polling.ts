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
 * So Dawn's polls go through `setTimeout`, and the main thread sleeps between polls. Each poll
 * costs the main thread CPU time too (Dawn's event processing and Node's timer: the seed CNN's
 * pipelined training step at batch 128, about 80 ms on lavapipe, used 3.0–4.5 ms of the main
 * thread's CPU a step with a poll every millisecond and 1.7–2.4 ms with growing sleeps;
 * docs/speed-log.md, thirteenth sitting), and on a software adapter that time is taken from one
 * of the driver's cores, which holds up every dispatch (lavapipe splits a dispatch between its
 * threads in fixed halves). So the sleep grows while one wait goes on (`POLL_DELAYS_MS`: four of
 * 1 ms, then 2, then 4): a wait of up to 4 ms is seen within about a millisecond, as before, and a
 * long one (a training step) within 4 ms, with about a quarter of the polls. A poll chain ends
 * when Dawn's poll does not queue another (nothing pending); the next wait starts again at 1 ms. Dawn's poll is told apart by its shape (`isDawnPoll`); every
 * other `setImmediate` call in the process reaches Node's own.
 *
 * On a hardware adapter the sleeps cost more than the core: a training step of the seed CNN is a
 * fraction of a millisecond of GPU work there, and a wait that Node's timers can end no sooner
 * than a millisecond after it began would bound the loop to about a step a millisecond. So the
 * context, once it knows its adapter, sets the mode (`setDawnPolling`): `timer` on a software
 * adapter, `immediate` (Dawn's own polling, a core busy while the GPU works) on a hardware one;
 * `WEBGPU_BACKPROP_POLLING` (timer | immediate) chooses instead. One mode for the process: the
 * context made last sets it.
 */

/**
 * The event loop's sleep before the k-th of Dawn's polls in one wait (the last entry from then
 * on): a wait of up to 4 ms is seen within 1 ms, up to 8 ms within 2, a longer one within 4.
 */
export const POLL_DELAYS_MS = [1, 1, 1, 1, 2, 2, 4] as const;

/** The sleep before poll `k` (0-based) of one wait. */
export function pollDelay(k: number): number {
  return POLL_DELAYS_MS[Math.min(k, POLL_DELAYS_MS.length - 1)]!;
}

const installed = Symbol.for('webgpu-backprop.dawnPollingThrottled');

/** How Dawn's polls are scheduled: on a growing timer (`timer`), or at once (`immediate`, Dawn's own). */
export type DawnPolling = 'timer' | 'immediate';
export const DAWN_POLLING_MODES: readonly DawnPolling[] = ['timer', 'immediate'];
export const POLLING_ENV = 'WEBGPU_BACKPROP_POLLING';

let mode: DawnPolling = 'timer';

/** The mode for an adapter: `WEBGPU_BACKPROP_POLLING` where set, else timer on a software adapter, immediate on a hardware one. */
export function dawnPollingFor(software: boolean, env: NodeJS.ProcessEnv = process.env): DawnPolling {
  const raw = env[POLLING_ENV]?.trim();
  if (raw) {
    if (!DAWN_POLLING_MODES.includes(raw as DawnPolling)) throw new Error(`${POLLING_ENV}: expected ${DAWN_POLLING_MODES.join(' or ')}, got '${raw}'`);
    return raw as DawnPolling;
  }
  return software ? 'timer' : 'immediate';
}

/** Sets how Dawn's polls are scheduled from now on (for the whole process). */
export function setDawnPolling(next: DawnPolling): void {
  mode = next;
}

/** How Dawn's polls are scheduled now. */
export function dawnPolling(): DawnPolling {
  return mode;
}

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
  // Polls queued so far in the current wait, and whether the poll now running queued the next.
  let polls = 0;
  let queuedAnother = false;
  const throttled = (callback: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (mode === 'immediate' || !isDawnPoll(callback)) return nodeSetImmediate(callback, ...args);
    queuedAnother = true;
    return setTimeout(() => {
      queuedAnother = false;
      try {
        callback(...args);
      } finally {
        // Nothing pending any more: the next wait starts with short sleeps again.
        if (!queuedAnother) polls = 0;
      }
    }, pollDelay(polls++));
  };
  // util.promisify(setImmediate) and the like keep working: the custom promisified form is Node's.
  Object.assign(throttled, nodeSetImmediate);
  global.setImmediate = throttled as unknown as typeof setImmediate;
  global[installed] = true;
}
