/** The drawn-digit preprocessing of the page (src/web/digit.ts): MNIST's 20×20 box, centre of mass at the centre. */
import { describe, expect, it } from 'vitest';
import { centreOfMass, mnistFromDrawing } from '../../src/web/digit.js';

/** A size×size canvas with a filled rectangle of ink. */
function rectangle(size: number, x0: number, y0: number, w: number, h: number): Float32Array {
  const ink = new Float32Array(size * size);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) ink[y * size + x] = 1;
  return ink;
}

describe('mnistFromDrawing', () => {
  it('returns null for a blank canvas', () => {
    expect(mnistFromDrawing(new Float32Array(280 * 280), 280)).toBeNull();
  });

  it('scales a tall stroke in a corner to 20 pixels high, centred by mass', () => {
    const out = mnistFromDrawing(rectangle(280, 10, 5, 40, 200), 280)!;
    let top = 28, bottom = -1, left = 28, right = -1;
    out.forEach((v, i) => {
      if (v > 0) {
        const y = Math.floor(i / 28), x = i % 28;
        top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
      }
    });
    expect(bottom - top + 1).toBe(20);
    expect(right - left + 1).toBe(4); // 40·(20/200)
    const c = centreOfMass(out);
    expect(Math.abs(c.x - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(c.y - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...out)).toBe(255);
  });

  it('area-averages: solid ink stays solid, a thin line becomes grey in proportion', () => {
    // A solid 30×30 square → 20×20 cells of 1.5×1.5 source pixels: every cell fully covered.
    const solid = mnistFromDrawing(rectangle(60, 10, 20, 30, 30), 60)!;
    expect([...solid].filter((v) => v > 0)).toEqual(new Array(400).fill(255));
    // A 30-pixel-wide, 1-pixel-high line in the middle of a 30×30 box (the box set by two dots):
    // it covers 1/1.5 of one cell row, so those cells are 2/3 grey (170).
    const ink = new Float32Array(30 * 30);
    ink[0] = 1;
    ink[29 * 30 + 29] = 1;
    for (let x = 0; x < 30; x++) ink[15 * 30 + x] = 1;
    const line = mnistFromDrawing(ink, 30)!;
    const greys = [...line].filter((v) => v === 170);
    expect(greys.length).toBeGreaterThanOrEqual(18); // the row, less its two ends where the dots add ink
  });

  it('names the expected size when the input is the wrong length', () => {
    expect(() => mnistFromDrawing(new Float32Array(10), 28)).toThrow(/28×28 = 784 values, got 10/);
  });
});
