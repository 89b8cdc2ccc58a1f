/**
 * What the GRU's and the LSTM's step kernels (src/kernels/gru.ts, lstm.ts) share: their parameters,
 * their VEC4 variant (W_hh read as vec4s where H is a multiple of 4: the same sums in the same
 * order, to the bit) and their WGSL libraries — shaders/lib/recurrent_step.wgsl (Params, a step's
 * rows) for all four, recurrent_hidden_sums.wgsl (W_hh · h_{t−1} + b_hh) for the forward steps,
 * recurrent_carry.wgsl (the carry through W_hh) for the backward steps.
 *
 * Variant SUBGROUP (an adapter with subgroups of 8, lavapipe's): an invocation per group of 8
 * samples and slot (a unit forward, four units backward), the slots padded to whole subgroups; the
 * 8 lanes of a subgroup share the group's samples, each loads its own sample's operand of the
 * hidden-side sums (h_{t−1} forward, the next step's gradients backward) and subgroupBroadcast
 * shares it, where the plain path has every lane of a sample load each word itself (an address
 * the lanes share, lavapipe's dearest load). Every sum keeps its order: the same bits. Its grid
 * differs from the plain path's, so each step kernel has two declarations (`StepKernels`), and
 * `compileStep` compiles the one its variant needs.
 */
import type { CompiledKernel, GpuContext } from '../gpu/context.js';
import type { BindingsSpec, Extent, KernelDef, KernelSpec } from '../gpu/kernel.js';
import { defineKernel } from '../gpu/kernel.js';
import stepSource from '../../shaders/lib/recurrent_step.wgsl?raw';
import hiddenSumsSource from '../../shaders/lib/recurrent_hidden_sums.wgsl?raw';
import carrySource from '../../shaders/lib/recurrent_carry.wgsl?raw';

/** `directions` 1 or 2 (y, dy [batch, seqLen, directions, H]); `reverse` 1: the reverse direction (the previous step is t + 1). */
export const RECURRENT_STEP_PARAMS = { batch: 'u32', seqLen: 'u32', hidden: 'u32', step: 'u32', directions: 'u32', reverse: 'u32' } as const;

/** Variant VEC4 (W_hh's rows read as vec4s) where H is a multiple of 4. */
export const recurrentVec4 = (hidden: number) => ({ VEC4: hidden % 4 === 0 });
/** What VEC4 needs of the parameters bound (variantRequires). */
export const recurrentVec4Problem = (p: { hidden: number }) => (p.hidden % 4 === 0 ? undefined : `hidden size ${p.hidden} is not a multiple of 4`);

/** The libraries a forward step appends (before its activations'). */
export const FORWARD_STEP_LIBRARIES = [stepSource, hiddenSumsSource] as const;
/** The libraries a backward step appends (before its activations'). */
export const BACKWARD_STEP_LIBRARIES = [stepSource, carrySource] as const;

type StepParams = typeof RECURRENT_STEP_PARAMS;
type StepSizes = { batch: number; hidden: number };

/** The subgroup size the SUBGROUP variant is written for (SUBGROUP_LANES in shaders/lib/recurrent_step.wgsl). */
export const RECURRENT_SUBGROUP = 8;

/** Whether the step kernels take their SUBGROUP variant on this device: subgroups of 8 and the feature. */
export const recurrentSubgroup = (ctx: GpuContext) => ctx.adapter.subgroupSize === RECURRENT_SUBGROUP && ctx.device.features.has('subgroups');

/** The step kernels' variant for a hidden size on a device: VEC4 where H is a multiple of 4, SUBGROUP where recurrentSubgroup. */
export const recurrentVariant = (ctx: GpuContext, hidden: number) => ({ ...recurrentVec4(hidden), SUBGROUP: recurrentSubgroup(ctx) });

const padded = (n: number) => Math.ceil(n / RECURRENT_SUBGROUP) * RECURRENT_SUBGROUP;

/** A step kernel's invocations: `slots(hidden)` a sample, or (SUBGROUP) a group of 8 samples, the slots padded to whole subgroups. */
export const stepGrid = (slots: (hidden: number) => number, subgroup: boolean) => (p: StepSizes): Extent =>
  subgroup ? [Math.ceil(p.batch / RECURRENT_SUBGROUP) * padded(slots(p.hidden))] : [p.batch * slots(p.hidden)];

/** A step kernel's declarations: `plain` (listed in src/kernels/index.ts; the plain grid) and `subgroup` (the SUBGROUP variant's grid). */
export interface StepKernels<B extends BindingsSpec, D extends string> {
  readonly plain: KernelDef<StepParams, B, D | 'SUBGROUP'>;
  readonly subgroup: KernelDef<StepParams, B, D | 'SUBGROUP'>;
}

/** Declares a step kernel (without its grid and SUBGROUP) twice: the plain path's grid and the SUBGROUP variant's. */
export function stepKernels<B extends BindingsSpec, D extends string>(spec: Omit<KernelSpec<StepParams, B, D | 'SUBGROUP'>, 'grid' | 'params' | 'variantFeatures'>, slots: (hidden: number) => number): StepKernels<B, D> {
  const full = { ...spec, params: RECURRENT_STEP_PARAMS, variantFeatures: { SUBGROUP: 'subgroups' } } as const;
  return {
    plain: defineKernel({ ...full, grid: stepGrid(slots, false) }),
    subgroup: defineKernel({ ...full, grid: stepGrid(slots, true) }),
  };
}

/** Compiles a step kernel's variant from the declaration whose grid it needs. */
export function compileStep<B extends BindingsSpec, D extends string>(ctx: GpuContext, kernels: StepKernels<B, D>, defines: Partial<Record<D | 'SUBGROUP', boolean>>): Promise<CompiledKernel<StepParams, B>> {
  return ctx.compile(defines.SUBGROUP ? kernels.subgroup : kernels.plain, defines);
}
