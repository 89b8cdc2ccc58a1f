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
  // Area-average the box onto outW×outH cells.
  const small = new Float64Array(outW * outH);
  for (let y = 0; y < height; y++) {
    const cy = Math.min(outH - 1, Math.floor((y * outH) / height));
    for (let x = 0; x < width; x++) {
      const cx = Math.min(outW - 1, Math.floor((x * outW) / width));
      small[cy * outW + cx]! += ink[(top + y) * size + left + x]!;
    }
  }
  const cellArea = (width / outW) * (height / outH);
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const v = Math.min(1, small[y * outW + x]! / cellArea);
      small[y * outW + x] = v;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
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
