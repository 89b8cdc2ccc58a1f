/** Every declared kernel (and nothing else), for tools and for the declaration test. */
export { denseForward, denseBackwardInput, denseBackwardWeight } from './dense.js';
export { sigmoidForward, sigmoidBackward } from './sigmoid.js';
export { halfSquaredError } from './half-squared-error.js';
export { sgdUpdate } from './sgd.js';
export { fmaPeak } from './probe.js';
