/**
 * CPU reference for the 2-D convolution, float64, plain loops from the maths. Tensors are NCHW
 * row-major, the weight is [Cout, Cin, KH, KW] (PyTorch), padding is zeros, there is no bias.
 */

export interface Conv2dShape {
  batch: number;
  inChannels: number;
  height: number;
  width: number;
  outChannels: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  padding: number;
}

/** Ho = ⌊(H + 2p − KH)/s⌋ + 1, Wo likewise. */
export function conv2dOutputSize(s: Conv2dShape): { outHeight: number; outWidth: number } {
  const outHeight = Math.floor((s.height + 2 * s.padding - s.kernelH) / s.stride) + 1;
  const outWidth = Math.floor((s.width + 2 * s.padding - s.kernelW) / s.stride) + 1;
  if (outHeight <= 0 || outWidth <= 0) {
    throw new Error(`conv2d: a ${s.kernelH}×${s.kernelW} kernel with padding ${s.padding} does not fit a ${s.height}×${s.width} input`);
  }
  return { outHeight, outWidth };
}

function checkLength(label: string, values: ArrayLike<number>, expected: number): void {
  if (values.length !== expected) throw new Error(`conv2d: ${label} has ${values.length} elements, expected ${expected}`);
}

/** y[n, co, oy, ox] = Σ_{ci, ky, kx} x[n, ci, oy·s − p + ky, ox·s − p + kx] · W[co, ci, ky, kx] */
export function conv2dForwardRef(x: ArrayLike<number>, weight: ArrayLike<number>, s: Conv2dShape): Float64Array {
  const { outHeight, outWidth } = conv2dOutputSize(s);
  const { batch, inChannels: cin, height: h, width: w, outChannels: cout, kernelH: kh, kernelW: kw } = s;
  checkLength('x', x, batch * cin * h * w);
  checkLength('weight', weight, cout * cin * kh * kw);
  const y = new Float64Array(batch * cout * outHeight * outWidth);
  for (let n = 0; n < batch; n++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) {
          let sum = 0;
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= w) continue;
                sum += x[((n * cin + ci) * h + iy) * w + ix]! * weight[((co * cin + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          y[((n * cout + co) * outHeight + oy) * outWidth + ox] = sum;
        }
      }
    }
  }
  return y;
}

/** dx[n, ci, iy, ix] = Σ dy[n, co, oy, ox] · W[co, ci, ky, kx] over the (oy, ox, ky, kx) with iy = oy·s − p + ky, ix = ox·s − p + kx. */
export function conv2dBackwardInputRef(dy: ArrayLike<number>, weight: ArrayLike<number>, s: Conv2dShape): Float64Array {
  const { outHeight, outWidth } = conv2dOutputSize(s);
  const { batch, inChannels: cin, height: h, width: w, outChannels: cout, kernelH: kh, kernelW: kw } = s;
  checkLength('dy', dy, batch * cout * outHeight * outWidth);
  checkLength('weight', weight, cout * cin * kh * kw);
  const dx = new Float64Array(batch * cin * h * w);
  for (let n = 0; n < batch; n++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) {
          const g = dy[((n * cout + co) * outHeight + oy) * outWidth + ox]!;
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= w) continue;
                dx[((n * cin + ci) * h + iy) * w + ix]! += g * weight[((co * cin + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/** dW[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, oy·s − p + ky, ox·s − p + kx] */
export function conv2dBackwardWeightRef(dy: ArrayLike<number>, x: ArrayLike<number>, s: Conv2dShape): Float64Array {
  const { outHeight, outWidth } = conv2dOutputSize(s);
  const { batch, inChannels: cin, height: h, width: w, outChannels: cout, kernelH: kh, kernelW: kw } = s;
  checkLength('dy', dy, batch * cout * outHeight * outWidth);
  checkLength('x', x, batch * cin * h * w);
  const dw = new Float64Array(cout * cin * kh * kw);
  for (let n = 0; n < batch; n++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) {
          const g = dy[((n * cout + co) * outHeight + oy) * outWidth + ox]!;
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= w) continue;
                dw[((co * cin + ci) * kh + ky) * kw + kx]! += g * x[((n * cin + ci) * h + iy) * w + ix]!;
              }
            }
          }
        }
      }
    }
  }
  return dw;
}
