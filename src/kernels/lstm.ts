/**
 * The LSTM cell's recurrence (PyTorch's nn.LSTM, one layer's one direction, batch_first;
 * src/layers/recurrent.ts): one dispatch per time step forward and one per time step backward,
 * an invocation per (sample, hidden unit) forward and per (sample, four units) backward, W_hh read
 * as vec4s where H is a multiple of 4 (variant VEC4: the same sums in the same order, to the bit;
 * about 2× faster a step on lavapipe at batch 128, H 64, in a rough experiment on shared CPUs);
 * on an adapter with subgroups of 8 (lavapipe's) variant SUBGROUP, 8 samples an invocation sharing
 * h_{t−1} or the next step's gradients by subgroupBroadcast (the same bits; src/kernels/recurrent-step.ts;
 * 2–3× faster again a step at batch 128, H 64). Compile through `compileStep` (each has two declarations). The input projection x · W_ihᵀ + b_ih for every step
 * at once and the weight, bias and input gradients over every step at once are the dense
 * kernels' (src/kernels/dense.ts) on the [batch · seqLen, features] view.
 * Kernels: shaders/lstm_forward_step.wgsl, lstm_backward_step.wgsl (σ: shaders/lib/sigmoid.wgsl,
 * tanh: shaders/lib/stable_math.wgsl; what they share with the GRU's: src/kernels/recurrent-step.ts).
 * CPU reference: src/reference/lstm.ts.
 */
import forwardSource from '../../shaders/lstm_forward_step.wgsl?raw';
import backwardSource from '../../shaders/lstm_backward_step.wgsl?raw';
import sigmoidSource from '../../shaders/lib/sigmoid.wgsl?raw';
import stableMathSource from '../../shaders/lib/stable_math.wgsl?raw';
import { BACKWARD_STEP_LIBRARIES, FORWARD_STEP_LIBRARIES, recurrentVec4Problem, stepKernels } from './recurrent-step.js';

/** Step t: gates, c_t and h_t from gx[·, t] and h_{t−1} = y[·, t − 1]; variant BIAS adds b_hh; VEC4 reads W_hh as vec4s (H a multiple of 4); SUBGROUP shares h_{t−1} by subgroupBroadcast  (overwrites y, cell, gates, hprev at t) */
export const lstmForwardSteps = stepKernels({
  name: 'lstm_forward_step',
  linear: true,
  source: forwardSource,
  libraries: [...FORWARD_STEP_LIBRARIES, sigmoidSource, stableMathSource],
  bindings: {
    gx: { type: 'f32', access: 'read' },
    weightHh: { type: 'f32', access: 'read', vec4: 'VEC4' },
    biasHh: { type: 'f32', access: 'read', only: 'BIAS' },
    y: { type: 'f32', access: 'read_write' },
    cell: { type: 'f32', access: 'read_write' },
    gates: { type: 'f32', access: 'read_write' },
    hprev: { type: 'f32', access: 'read_write' },
  },
  defines: ['BIAS', 'VEC4', 'SUBGROUP'],
  variantRequires: { VEC4: recurrentVec4Problem },
  workgroupSize: [64],
  lengths: (p) => {
    const steps = p.batch * p.seqLen;
    return { gx: steps * 4 * p.hidden, weightHh: 4 * p.hidden * p.hidden, biasHh: 4 * p.hidden, y: steps * p.directions * p.hidden, cell: steps * p.hidden, gates: steps * 4 * p.hidden, hprev: steps * p.hidden };
  },
}, (hidden) => hidden);
export const lstmForwardStep = lstmForwardSteps.plain;

/** Step t of the backward: the gates' pre-activation gradients at t from dy[·, t], the carries from t + 1; an invocation per four units, VEC4 reading W_hh as vec4s (H a multiple of 4), SUBGROUP sharing the next step's gradients by subgroupBroadcast  (overwrites dgates at t, dcell) */
export const lstmBackwardSteps = stepKernels({
  name: 'lstm_backward_step',
  linear: true,
  source: backwardSource,
  libraries: [...BACKWARD_STEP_LIBRARIES, stableMathSource],
  bindings: {
    dy: { type: 'f32', access: 'read' },
    gates: { type: 'f32', access: 'read' },
    cell: { type: 'f32', access: 'read' },
    weightHh: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dgates: { type: 'f32', access: 'read_write' },
    dcell: { type: 'f32', access: 'read_write' },
  },
  defines: ['VEC4', 'SUBGROUP'],
  variantRequires: { VEC4: recurrentVec4Problem },
  workgroupSize: [64],
  lengths: (p) => {
    const steps = p.batch * p.seqLen;
    return { dy: steps * p.directions * p.hidden, gates: steps * 4 * p.hidden, cell: steps * p.hidden, weightHh: 4 * p.hidden * p.hidden, dgates: steps * 4 * p.hidden, dcell: p.batch * p.hidden };
  },
  // An invocation per four units.
}, (hidden) => Math.ceil(hidden / 4));
export const lstmBackwardStep = lstmBackwardSteps.plain;
