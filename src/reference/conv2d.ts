/**
 * CPU reference for the 2-D convolution, float64, plain loops from the maths. Tensors are NCHW
 * row-major, the weight is [Cout, Cin / groups, KH, KW] (PyTorch), padding is zeros, there is no
 * bias. A shape is given as the tiled kernels take it (one stride and padding for both
 * directions: Conv2dShape) or with PyTorch's whole geometry (Conv2dGeometry: groups, dilation,
 * each direction's stride, each side's padding).
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

/** Any Conv2d: output channel co reads the input channels of its group, g = co / (Cout / groups). */
export interface Conv2dGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  readonly outChannels: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly groups: number;
}

/** A shape's whole geometry with its output size: Ho = ⌊(H + top + bottom − dH·(KH − 1) − 1)/sH⌋ + 1, Wo likewise. */
export function conv2dGeometry(s: Conv2dShape | Conv2dGeometry): Conv2dGeometry & { readonly outHeight: number; readonly outWidth: number } {
  const g: Conv2dGeometry =
    'strideH' in s
      ? s
      : { ...s, strideH: s.stride, strideW: s.stride, padTop: s.padding, padBottom: s.padding, padLeft: s.padding, padRight: s.padding, dilationH: 1, dilationW: 1, groups: 1 };
  const outHeight = Math.floor((g.height + g.padTop + g.padBottom - g.dilationH * (g.kernelH - 1) - 1) / g.strideH) + 1;
  const outWidth = Math.floor((g.width + g.padLeft + g.padRight - g.dilationW * (g.kernelW - 1) - 1) / g.strideW) + 1;
  if (outHeight <= 0 || outWidth <= 0) {
    throw new Error(`conv2d: a ${g.kernelH}×${g.kernelW} kernel (dilation ${g.dilationH}×${g.dilationW}) with padding ${g.padTop}/${g.padBottom}×${g.padLeft}/${g.padRight} does not fit a ${g.height}×${g.width} input`);
  }
  if (g.inChannels % g.groups !== 0 || g.outChannels % g.groups !== 0) throw new Error(`conv2d: ${g.inChannels} → ${g.outChannels} channels do not split into ${g.groups} groups`);
  return { ...g, outHeight, outWidth };
}

/** Ho, Wo. */
export function conv2dOutputSize(s: Conv2dShape | Conv2dGeometry): { outHeight: number; outWidth: number } {
  const { outHeight, outWidth } = conv2dGeometry(s);
  return { outHeight, outWidth };
}

function checkLength(label: string, values: ArrayLike<number>, expected: number): void {
  if (values.length !== expected) throw new Error(`conv2d: ${label} has ${values.length} elements, expected ${expected}`);
}

/**
 * One pass over every tap inside the input, in the order of the sums (n, co, oy, ox, then the
 * group's input channels, ky, kx): out[·] += a[·]·b[·] at the pass's indices (forward: y += x·W;
 * input: dx += dy·W; weight: dW += dy·x). One owner of the index maths for the three passes (a
 * switch, not a callback: one call site, which V8 keeps fast).
 */
type Pass = 'forward' | 'input' | 'weight';
function eachTap(g: ReturnType<typeof conv2dGeometry>, pass: Pass, a: ArrayLike<number>, b: ArrayLike<number>, out: Float64Array): void {
  const { batch, inChannels: cin, height: h, width: w, outChannels: cout, kernelH: kh, kernelW: kw, outHeight, outWidth } = g;
  const groupIn = cin / g.groups;
  const groupOut = cout / g.groups;
  for (let n = 0; n < batch; n++) {
    for (let co = 0; co < cout; co++) {
      const first = Math.floor(co / groupOut) * groupIn;
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) {
          const yIndex = ((n * cout + co) * outHeight + oy) * outWidth + ox;
          for (let c = 0; c < groupIn; c++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
                if (ix < 0 || ix >= w) continue;
                const xIndex = ((n * cin + first + c) * h + iy) * w + ix;
                const wIndex = ((co * groupIn + c) * kh + ky) * kw + kx;
                if (pass === 'forward') out[yIndex]! += a[xIndex]! * b[wIndex]!;
                else if (pass === 'input') out[xIndex]! += a[yIndex]! * b[wIndex]!;
                else out[wIndex]! += a[yIndex]! * b[xIndex]!;
              }
            }
          }
        }
      }
    }
  }
}

const lengths = (g: ReturnType<typeof conv2dGeometry>) => ({
  x: g.batch * g.inChannels * g.height * g.width,
  y: g.batch * g.outChannels * g.outHeight * g.outWidth,
  weight: g.outChannels * (g.inChannels / g.groups) * g.kernelH * g.kernelW,
});

/** y[n, co, oy, ox] = Σ_{c, ky, kx} x[n, g·Cin/groups + c, oy·sH − top + ky·dH, ox·sW − left + kx·dW] · W[co, c, ky, kx] */
export function conv2dForwardRef(x: ArrayLike<number>, weight: ArrayLike<number>, s: Conv2dShape | Conv2dGeometry): Float64Array {
  const g = conv2dGeometry(s);
  const len = lengths(g);
  checkLength('x', x, len.x);
  checkLength('weight', weight, len.weight);
  const y = new Float64Array(len.y);
  eachTap(g, 'forward', x, weight, y);
  return y;
}

/** dx[n, ci, iy, ix] = Σ dy[n, co, oy, ox] · W[co, c, ky, kx] over the taps (oy, ox, ky, kx) that read it. */
export function conv2dBackwardInputRef(dy: ArrayLike<number>, weight: ArrayLike<number>, s: Conv2dShape | Conv2dGeometry): Float64Array {
  const g = conv2dGeometry(s);
  const len = lengths(g);
  checkLength('dy', dy, len.y);
  checkLength('weight', weight, len.weight);
  const dx = new Float64Array(len.x);
  eachTap(g, 'input', dy, weight, dx);
  return dx;
}

/** dW[co, c, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, g·Cin/groups + c, oy·sH − top + ky·dH, ox·sW − left + kx·dW] */
export function conv2dBackwardWeightRef(dy: ArrayLike<number>, x: ArrayLike<number>, s: Conv2dShape | Conv2dGeometry): Float64Array {
  const g = conv2dGeometry(s);
  const len = lengths(g);
  checkLength('dy', dy, len.y);
  checkLength('x', x, len.x);
  const dw = new Float64Array(len.weight);
  eachTap(g, 'weight', dy, x, dw);
  return dw;
}
