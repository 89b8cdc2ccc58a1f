/**
 * Element-wise activations whose backward reads their input, one source with a variant each:
 * LeakyReLU (the default), SiLU, GELU (exact and tanh), ELU (and SELU), Softplus, Mish, Hardswish,
 * Hardsigmoid, Hardtanh (and ReLU6), CELU, LogSigmoid, Softsign, Softshrink, Hardshrink, Threshold, Tanhshrink; f and f' in shaders/lib/activation_math.wgsl (with
 * shaders/lib/stable_math.wgsl's expm1, log1p and softplus). Kernels:
 * shaders/activation_forward.wgsl, activation_backward.wgsl. CPU reference: src/reference/activation.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/activation_forward.wgsl?raw';
import stableMathSource from '../../shaders/lib/stable_math.wgsl?raw';
import mathSource from '../../shaders/lib/activation_math.wgsl?raw';
import sigmoidSource from '../../shaders/lib/sigmoid.wgsl?raw';
import backwardSource from '../../shaders/activation_backward.wgsl?raw';

/** The variants besides the default (LeakyReLU), as the WGSL names them. */
export const ACTIVATION_VARIANTS = ['SILU', 'GELU', 'GELU_TANH', 'ELU', 'SOFTPLUS', 'MISH', 'HARDSWISH', 'HARDSIGMOID', 'HARDTANH', 'CELU', 'LOGSIGMOID', 'SOFTSIGN', 'SOFTSHRINK', 'HARDSHRINK', 'THRESHOLD', 'TANHSHRINK'] as const;
export type ActivationVariant = (typeof ACTIVATION_VARIANTS)[number] | 'LEAKY_RELU';

/** The compile-time variant of an activation (`{ GELU: true }`; LeakyReLU: none). */
export const activationDefines = (variant: ActivationVariant): Partial<Record<(typeof ACTIVATION_VARIANTS)[number], boolean>> =>
  variant === 'LEAKY_RELU' ? {} : { [variant]: true };

/** The kernels' variant for `count` elements: VEC4 (four elements read and written as a vec4) where they are whole vec4s. */
export const activationVec4 = (count: number) => ({ VEC4: count % 4 === 0 });
const vec4Problem = (p: { count: number }) => (p.count % 4 === 0 ? undefined : `${p.count} elements are not whole vec4s`);

/** y = f(x)  (overwrites y); a, b: the activation's arguments (activation_math.wgsl); four elements an invocation, a vec4 in VEC4 */
export const activationForward = defineKernel({
  name: 'activation_forward',
  linear: true,
  source: forwardSource,
  libraries: [stableMathSource, mathSource, sigmoidSource],
  params: { count: 'u32', a: 'f32', b: 'f32' },
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: [...ACTIVATION_VARIANTS, 'VEC4'],
  variantRequires: { VEC4: vec4Problem },
  workgroupSize: [64],
  grid: (p) => [Math.ceil(p.count / 4)],
  lengths: (p) => ({ x: p.count, y: p.count }),
});

/** dx = dy · f'(x)  (overwrites dx) */
export const activationBackward = defineKernel({
  name: 'activation_backward',
  linear: true,
  source: backwardSource,
  libraries: [stableMathSource, mathSource, sigmoidSource],
  params: { count: 'u32', a: 'f32', b: 'f32' },
  bindings: {
    dy: { type: 'f32', access: 'read', vec4: 'VEC4' },
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dx: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: [...ACTIVATION_VARIANTS, 'VEC4'],
  variantRequires: { VEC4: vec4Problem },
  workgroupSize: [64],
  grid: (p) => [Math.ceil(p.count / 4)],
  lengths: (p) => ({ dy: p.count, x: p.count, dx: p.count }),
});
