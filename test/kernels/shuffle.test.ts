/**
 * The permutations (src/kernels/shuffle.ts, src/reference/shuffle.ts): the reference against
 * PyTorch's PixelShuffle, PixelUnshuffle and ChannelShuffle, each one's inverse its inverse; the
 * kernel against the reference (the same bits: copies) on awkward shapes and at a real size; the
 * layers' arguments and shapes as PyTorch checks them.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { shuffle } from '../../src/kernels/shuffle.js';
import { ChannelShuffle, PixelShuffle, PixelUnshuffle } from '../../src/layers/shuffle.js';
import { channelShuffleRef, pixelShuffleRef, pixelUnshuffleRef } from '../../src/reference/shuffle.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch, skipWithoutTorch } from '../helpers/torch.js';

// [batch, channels, height, width, factor] of each permutation's input.
const PIXEL = [[2, 8, 3, 5, 2], [1, 9, 2, 2, 3], [3, 4, 1, 1, 1], [128, 32, 7, 7, 2]] as const;
const UNPIXEL = [[2, 3, 6, 4, 2], [1, 2, 9, 6, 3], [128, 8, 28, 28, 2]] as const;
const CHANNEL = [[2, 6, 3, 5, 2], [1, 12, 2, 1, 4], [2, 5, 2, 2, 5], [128, 32, 14, 14, 4]] as const;

describe('the permutations\' reference', () => {
  test("against PyTorch's PixelShuffle, PixelUnshuffle and ChannelShuffle", (ctx) => {
    skipWithoutTorch(ctx);
    const cases = [...PIXEL.slice(0, 3).map((s) => ['PixelShuffle', s] as const), ...UNPIXEL.slice(0, 2).map((s) => ['PixelUnshuffle', s] as const), ...CHANNEL.slice(0, 3).map((s) => ['ChannelShuffle', s] as const)];
    const spec = cases.map(([kind, [n, c, h, w, f]], i) => ({ kind, shape: [n, c, h, w], factor: f, x: Array.from(randomArray(n * c * h * w, i + 1)) }));
    const torch = runTorch<number[][]>(
      `
import json, sys, torch
out = []
for c in json.load(sys.stdin):
    x = torch.tensor(c['x'], dtype=torch.float64).reshape(c['shape'])
    out.append(getattr(torch.nn, c['kind'])(c['factor'])(x).flatten().tolist())
print(json.dumps(out))
`,
      spec,
    );
    spec.forEach(({ kind, shape: [n, c, h, w], factor, x }, i) => {
      const ours = kind === 'PixelShuffle' ? pixelShuffleRef(x, n!, c!, h!, w!, factor) : kind === 'PixelUnshuffle' ? pixelUnshuffleRef(x, n!, c!, h!, w!, factor) : channelShuffleRef(x, n!, c!, h! * w!, factor);
      expect(Array.from(ours), `${kind}(${factor}) of [${n}, ${c}, ${h}, ${w}]`).toEqual(torch[i]);
    });
  });
  if (!hasTorch) test.skip('PyTorch is not installed here: the comparison skipped', () => {});

  test('each is undone by its inverse (the backward)', () => {
    const x = randomArray(2 * 12 * 4 * 6, 9);
    expect(Array.from(pixelUnshuffleRef(pixelShuffleRef(x, 2, 12, 4, 6, 2), 2, 3, 8, 12, 2))).toEqual(Array.from(x));
    expect(Array.from(channelShuffleRef(channelShuffleRef(x, 2, 12, 24, 3), 2, 12, 24, 4))).toEqual(Array.from(x));
  });
});

describe('the shuffle kernel', () => {
  const run = async (ctx: Parameters<Parameters<typeof gpuTest>[1]>[0], x: Float64Array, variant: object, out: readonly [number, number, number], factor: number) => {
    const count = x.length;
    const [tx, ty] = [ctx.tensor('x', [count], { data: x }), ctx.tensor('y', [count])];
    ctx.fill(ty, NaN);
    const k = (await ctx.compile(shuffle, variant)).bind({ x: tx, y: ty }, { count, outChannels: out[0], outH: out[1], outW: out[2], factor });
    ctx.submit('shuffle test', (e) => recordPass(e, 'shuffle test', [k]));
    return ctx.read(ty);
  };
  for (const [n, c, h, w, r] of PIXEL) {
    gpuTest(`PixelShuffle(${r}) of [${n}, ${c}, ${h}, ${w}], and back`, async (ctx) => {
      const x = Float64Array.from(randomArray(n * c * h * w, c + h), Math.fround);
      const y = await run(ctx, x, {}, [c / (r * r), h * r, w * r], r);
      expectAllClose('PixelShuffle', y, pixelShuffleRef(x, n, c, h, w, r), TOLERANCE.exact);
      expectAllClose('PixelUnshuffle of it', await run(ctx, Float64Array.from(y), { PIXEL_UNSHUFFLE: true }, [c, h, w], r), x, TOLERANCE.exact);
    });
  }
  for (const [n, c, h, w, r] of UNPIXEL) {
    gpuTest(`PixelUnshuffle(${r}) of [${n}, ${c}, ${h}, ${w}]`, async (ctx) => {
      const x = Float64Array.from(randomArray(n * c * h * w, c + w), Math.fround);
      expectAllClose('PixelUnshuffle', await run(ctx, x, { PIXEL_UNSHUFFLE: true }, [c * r * r, h / r, w / r], r), pixelUnshuffleRef(x, n, c, h, w, r), TOLERANCE.exact);
    });
  }
  for (const [n, c, h, w, g] of CHANNEL) {
    gpuTest(`ChannelShuffle(${g}) of [${n}, ${c}, ${h}, ${w}], and back`, async (ctx) => {
      const x = Float64Array.from(randomArray(n * c * h * w, c + g), Math.fround);
      const y = await run(ctx, x, { CHANNEL_SHUFFLE: true }, [c, h, w], g);
      expectAllClose('ChannelShuffle', y, channelShuffleRef(x, n, c, h * w, g), TOLERANCE.exact);
      expectAllClose('ChannelShuffle(C / g) of it', await run(ctx, Float64Array.from(y), { CHANNEL_SHUFFLE: true }, [c, h, w], c / g), x, TOLERANCE.exact);
    });
  }
});

describe('the permutation layers', () => {
  test("PyTorch's arguments and shape checks", () => {
    expect(new PixelShuffle(3).outputShape([18, 4, 5])).toEqual([2, 12, 15]);
    expect(new PixelUnshuffle({ downscaleFactor: 2 }).outputShape([3, 8, 6])).toEqual([12, 4, 3]);
    expect(new ChannelShuffle(4).outputShape([8, 3, 3])).toEqual([8, 3, 3]);
    expect([new PixelShuffle(2).config(), new PixelUnshuffle(2).config(), new ChannelShuffle(3).config()]).toEqual([{ upscale_factor: 2 }, { downscale_factor: 2 }, { groups: 3 }]);
    expect(() => new PixelShuffle(2).outputShape([6, 4, 4])).toThrow("the input's 6 channels are not divisible by upscale_factor² = 4 (input [6, 4, 4])");
    expect(() => new PixelUnshuffle(3).outputShape([1, 6, 4])).toThrow("the input's 6×4 plane is not divisible by downscale_factor 3");
    expect(() => new ChannelShuffle(4).outputShape([6, 2, 2])).toThrow("the input's 6 channels are not divisible by groups 4");
    expect(() => new PixelShuffle(0)).toThrow('PixelShuffle: upscale_factor must be a whole number ≥ 1, got 0');
    expect(() => new ChannelShuffle({ group: 2 } as never)).toThrow("ChannelShuffle: unknown option 'group'; the options are groups");
    expect(() => new (PixelShuffle as unknown as new (...a: unknown[]) => object)(2, 3)).toThrow('PixelShuffle: expected one argument (upscale_factor) or an options object, got 2');
    expect(() => new ChannelShuffle(2).outputShape([4])).toThrow('expects an input of shape [C, H, W] or [C, L], got [4]');
  });
});
