/**
 * CPU reference for the MNIST input pipeline: the notebook's Normalize((0.1307,), (0.3081,)) and
 * torchvision's RandomRotation on a PIL image (nearest neighbour, no expand, centre (cols/2, rows/2)).
 */

/** (byte / 255 − 0.1307) / 0.3081 */
export function normalizePixelRef(byte: number): number {
  return (byte / 255 - 0.1307) / 0.3081;
}

/**
 * Rotates a rows×cols u8 image counter-clockwise by `degrees`, PIL's inverse mapping: output pixel
 * (x, y) samples the source at (⌊cosθ·u − sinθ·v + cx⌋, ⌊sinθ·u + cosθ·v + cy⌋), with
 * u = x + 0.5 − cx, v = y + 0.5 − cy; a sample outside the image gives `fill`.
 */
export function rotateImageRef(pixels: ArrayLike<number>, rows: number, cols: number, degrees: number, fill: number): Float64Array {
  const theta = (degrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const cx = cols / 2;
  const cy = rows / 2;
  const out = new Float64Array(rows * cols);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const u = x + 0.5 - cx;
      const v = y + 0.5 - cy;
      const xs = Math.floor(cos * u - sin * v + cx);
      const ys = Math.floor(sin * u + cos * v + cy);
      const inside = xs >= 0 && xs < cols && ys >= 0 && ys < rows;
      out[y * cols + x] = inside ? pixels[ys * cols + xs]! : fill;
    }
  }
  return out;
}
