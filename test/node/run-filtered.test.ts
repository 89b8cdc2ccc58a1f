/**
 * runFiltered's exit status and word on a child ended by a signal: 128 + its number; a signal it
 * was not passed (SIGKILL: the out-of-memory killer) is said, since the child cannot say it.
 */
import { describe, expect, test, vi } from 'vitest';
import { runFiltered } from '../../src/node/noise.js';

describe('runFiltered', () => {
  test('a child killed by SIGKILL: 137 and a line saying so (it was 143 and silent)', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    try {
      expect(await runFiltered(['-e', "process.kill(process.pid, 'SIGKILL')"], { verbose: false })).toBe(137);
      expect(await runFiltered(['-e', 'process.exit(3)'], { verbose: false })).toBe(3);
    } finally {
      spy.mockRestore();
    }
    expect(lines.join('')).toMatch(/^webgpu-backprop: the process doing the work was killed by SIGKILL \(the out-of-memory killer, or kill -9\); a checkpoint saved before it is intact \(saves are atomic\)\n$/);
  });
});
