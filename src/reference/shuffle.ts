/**
 * CPU reference for PyTorch's PixelShuffle, PixelUnshuffle and ChannelShuffle, written as PyTorch
 * defines them: reshapes and a transpose of [N, C, H, W] (not the kernel's index arithmetic).
 */

/** A tensor's element at a multi-index of a row-major shape. */
const flat = (shape: readonly number[], index: readonly number[]) => index.reduce((at, v, k) => at * shape[k]! + v, 0);

/** x of row-major `shape` permuted: output dimension k is input dimension order[k]. */
function permute(x: ArrayLike<number>, shape: readonly number[], order: readonly number[]): Float64Array {
  const out = order.map((k) => shape[k]!);
  const y = new Float64Array(x.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < y.length; o++) {
    let rest = o;
    const outIndex = out.map(() => 0);
    for (let k = out.length - 1; k >= 0; k--) {
      outIndex[k] = rest % out[k]!;
      rest = Math.floor(rest / out[k]!);
    }
    order.forEach((k, i) => (index[k] = outIndex[i]!));
    y[o] = x[flat(shape, index)]!;
  }
  return y;
}

/** PixelShuffle(r): [N, C·r², H, W] viewed as [N, C, r, r, H, W], permuted to [N, C, H, r, W, r]. */
export function pixelShuffleRef(x: ArrayLike<number>, batch: number, channels: number, height: number, width: number, r: number): Float64Array {
  return permute(x, [batch, channels / (r * r), r, r, height, width], [0, 1, 4, 2, 5, 3]);
}

/** PixelUnshuffle(r): [N, C, H·r, W·r] viewed as [N, C, H, r, W, r], permuted to [N, C, r, r, H, W]. */
export function pixelUnshuffleRef(x: ArrayLike<number>, batch: number, channels: number, height: number, width: number, r: number): Float64Array {
  return permute(x, [batch, channels, height / r, r, width / r, r], [0, 1, 3, 5, 2, 4]);
}

/** ChannelShuffle(g): [N, g·k, H, W] viewed as [N, g, k, H·W], transposed to [N, k, g, H·W]. */
export function channelShuffleRef(x: ArrayLike<number>, batch: number, channels: number, area: number, groups: number): Float64Array {
  return permute(x, [batch, groups, channels / groups, area], [0, 2, 1, 3]);
}
