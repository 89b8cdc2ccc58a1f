/** The Node waiter: a GPU promise that rejects while it sleeps is handed on, never left unhandled. */
import { expect, test } from 'vitest';
import { sleepingWait } from '../../src/node/device.js';

test('a rejection while the waiter sleeps reaches the caller, and nothing is unhandled', async () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  try {
    // Dawn rejects a mapping on a lost device with an AbortError and no message.
    const late = new Promise((_, reject) => setTimeout(() => reject(new DOMException('', 'AbortError')), 15));
    await expect(sleepingWait(late)).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    expect(await sleepingWait(new Promise((r) => setTimeout(() => r(42), 10)))).toBe(42);
  } finally {
    process.off('unhandledRejection', record);
  }
});
