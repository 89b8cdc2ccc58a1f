/** Every declared kernel (each variant) compiles into a pipeline on the adapter. */
import { describe } from 'vitest';
import type { AnyKernelDef } from '../../src/gpu/kernel.js';
import * as kernels from '../../src/kernels/index.js';
import { gpuTest } from '../helpers/gpu.js';

describe('every kernel compiles', () => {
  for (const def of Object.values(kernels) as AnyKernelDef[]) {
    gpuTest(def.name, async (ctx) => {
      await ctx.compile(def);
      for (const variant of def.defines ?? []) await ctx.compile(def, { [variant]: true });
    });
  }
});
