/**
 * What the GRU's and the LSTM's step kernels (src/kernels/gru.ts, lstm.ts) share: their parameters,
 * their VEC4 variant (W_hh read as vec4s where H is a multiple of 4: the same sums in the same
 * order, to the bit) and their WGSL libraries — shaders/lib/recurrent_step.wgsl (Params, a step's
 * rows) for all four, recurrent_hidden_sums.wgsl (W_hh · h_{t−1} + b_hh) for the forward steps,
 * recurrent_carry.wgsl (the carry through W_hh) for the backward steps.
 */
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
