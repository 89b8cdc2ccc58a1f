/** relu_forward and relu_backward against the float64 reference; at NaN, ±∞ and ±0 against PyTorch 1.13's float32. */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { reluBackward, reluForward } from '../../src/kernels/relu.js';
import { reluBackwardRef, reluForwardRef } from '../../src/reference/relu.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { float32Bits, fromFloat32Bits, runTorch, skipWithoutTorch } from '../helpers/torch.js';

describe('relu kernels', () => {
  // One element; lengths around and between multiples of the 256-wide workgroup.
  for (const length of [1, 2, 255, 257, 1000]) {
    gpuTest(`${length} elements`, async (ctx) => {
      const x = f32(randomArray(length, length));
      // Exact zeros: the kink, where the backward pass (which reads the output) gives 0.
      for (let i = 0; i < length; i += 7) x[i] = 0;
      const dy = f32(randomArray(length, length + 1));
      const tx = ctx.tensor('x', [length], { data: x });
      const tdy = ctx.tensor('dy', [length], { data: dy });
      const ty = ctx.tensor('y', [length]);
      const tdx = ctx.tensor('dx', [length]);
      ctx.fill(ty, NaN);
      ctx.fill(tdx, NaN);
      const kernels = [
        (await ctx.compile(reluForward)).bind({ x: tx, y: ty }, { length }),
        (await ctx.compile(reluBackward)).bind({ dy: tdy, y: ty, dx: tdx }, { length }),
      ];
      ctx.submit('relu test', (e) => recordPass(e, 'relu test', kernels));
      const y = reluForwardRef(x);
      // A maximum and a select: copies, exact.
      expectAllClose('relu_forward y', await ctx.read(ty), y, TOLERANCE.exact);
      expectAllClose('relu_backward dx', await ctx.read(tdx), reluBackwardRef(dy, y), TOLERANCE.exact);
    });
  }

  // NaN (both signs, and one with a payload), ±∞, ±0, the smallest subnormals and ±1, twice over
  // (elements 0–11 in one invocation's four and those after). WGSL lets a compiler assume no NaN,
  // so max(x, 0) of one is implementation-defined (lavapipe gives 0) and `y > 0` may fold into a
  // min or max: the kernels tell a NaN by its bits (shaders/lib/relu.wgsl).
  gpuTest("NaN, ±∞ and ±0: PyTorch 1.13's float32 relu and its gradient (a NaN y passes dy), and the reference", async (ctx, t) => {
    skipWithoutTorch(t);
    const bits = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7f800000, 0xff800000, 0x80000000, 0, 1, 0x80000001, 0x3f800000, 0xbf800000];
    const x = new Float32Array(Uint32Array.from([...bits, ...bits.slice().reverse()]).buffer);
    const length = x.length;
    const dy = Float32Array.from({ length }, (_, i) => i + 1);
    const [torchY, torchDx] = runTorch<[number[], number[]]>(
      `
import json, sys, torch
s = json.load(sys.stdin)
x = torch.tensor(s['x'], dtype=torch.int32).view(torch.float32).requires_grad_()
y = torch.relu(x)
y.backward(torch.tensor(s['dy'], dtype=torch.float32))
print(json.dumps([y.detach().view(torch.int32).tolist(), x.grad.view(torch.int32).tolist()]))
`,
      { x: float32Bits(x), dy: Array.from(dy) },
    );
    const tx = ctx.tensor('x', [length], { data: x });
    const tdy = ctx.tensor('dy', [length], { data: dy });
    const [ty, tdx] = [ctx.tensor('y', [length]), ctx.tensor('dx', [length])];
    ctx.fill(ty, NaN);
    ctx.fill(tdx, NaN);
    const kernels = [
      (await ctx.compile(reluForward)).bind({ x: tx, y: ty }, { length }),
      (await ctx.compile(reluBackward)).bind({ dy: tdy, y: ty, dx: tdx }, { length }),
    ];
    ctx.submit('relu NaN test', (e) => recordPass(e, 'relu NaN test', kernels));
    const [y, dx] = await ctx.readMany([ty, tdx]);
    const yBits = Array.from(new Uint32Array(Float32Array.from(y!).buffer));
    // PyTorch keeps a NaN's bits, and −0 (relu(−0) = −0); the kernel gives +0 there, as max(−0, 0)
    // did on lavapipe (a zero's sign: the one difference).
    const want = torchY!.map((b) => (b >>> 0 === 0x80000000 ? 0 : b >>> 0));
    expect(yBits.map((b) => b.toString(16)), 'y bits against PyTorch').toEqual(want.map((b) => b.toString(16)));
    expect(Array.from(dx!), 'dx against PyTorch').toEqual(fromFloat32Bits(torchDx!));
    // The float64 reference follows PyTorch too (a NaN as NaN).
    const ref = reluForwardRef(x);
    expect(Array.from(ref, (v, i) => (Number.isNaN(v) ? Number.isNaN(y![i]!) : Object.is(v, y![i]!))), 'the reference y').toEqual(Array(length).fill(true));
    expect(Array.from(reluBackwardRef(dy, ref)), 'the reference dx').toEqual(Array.from(dx!));
  });
});
