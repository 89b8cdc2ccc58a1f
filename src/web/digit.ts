/**
 * A drawn digit made to look like an MNIST digit (as the data set was made): the ink's bounding
 * box scaled to fit 20×20 (area-averaged), then placed in 28×28 so that its centre of mass is at
 * the centre. Pure functions, so they are tested without a browser (test/web/digit.test.ts).
 */

/** `ink`: size×size intensities in 0…1 (row-major). Returns 28×28 bytes (0 = background), or null if blank. */
export function mnistFromDrawing(ink: ArrayLike<number>, size: number, threshold = 0.05): Uint8Array | null {
  if (ink.length !== size * size) throw new Error(`mnistFromDrawing: expected ${size}×${size} = ${size * size} values, got ${ink.length}`);
  let top = size, left = size, bottom = -1, right = -1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (ink[y * size + x]! > threshold) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  const width = right - left + 1;
  const height = bottom - top + 1;
  const scale = 20 / Math.max(width, height);
  const outW = Math.max(1, Math.round(width * scale));
  const outH = Math.max(1, Math.round(height * scale));
  // Area-average the box onto outW×outH cells: each source pixel is shared between the cells it
  // overlaps, in proportion to the overlap (a box filter, separable in x and y).
  const xs = overlaps(width, outW);
  const ys = overlaps(height, outH);
  const small = new Float64Array(outW * outH);
  let mass = 0, mx = 0, my = 0;
  for (let cy = 0; cy < outH; cy++) {
    for (let cx = 0; cx < outW; cx++) {
      let sum = 0;
      for (const [y, wy] of ys[cy]!) for (const [x, wx] of xs[cx]!) sum += wy * wx * ink[(top + y) * size + left + x]!;
      const v = Math.min(1, sum);
      small[cy * outW + cx] = v;
      mass += v;
      mx += v * (cx + 0.5);
      my += v * (cy + 0.5);
    }
  }
  // Place so that the centre of mass lands on (14, 14), clipped to the 28×28 frame.
  const offsetX = Math.round(14 - mx / mass);
  const offsetY = Math.round(14 - my / mass);
  const out = new Uint8Array(28 * 28);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const tx = x + offsetX;
      const ty = y + offsetY;
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = Math.round(255 * small[y * outW + x]!);
    }
  }
  return out;
}

/**
 * For each of `cells` equal cells spanning `length` source pixels: the pixels it overlaps, each with
 * the fraction of the cell it covers (the fractions of a cell add up to 1).
 */
function overlaps(length: number, cells: number): [number, number][][] {
  const step = length / cells;
  return Array.from({ length: cells }, (_, c) => {
    const from = c * step;
    const to = from + step;
    const parts: [number, number][] = [];
    for (let p = Math.floor(from); p < Math.min(length, Math.ceil(to)); p++) {
      const covered = Math.min(to, p + 1) - Math.max(from, p);
      if (covered > 1e-12) parts.push([p, covered / step]);
    }
    return parts;
  });
}

/** The centre of mass (x, y) of a 28×28 image, in pixel units (pixel centres at +0.5). */
export function centreOfMass(image: ArrayLike<number>, size = 28): { x: number; y: number } {
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = image[y * size + x]!;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  return { x: mx / mass, y: my / mass };
}
