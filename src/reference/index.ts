/** The float64 CPU reference, one module per kernel family. */
export * from './dense.js';
export * from './sigmoid.js';
export * from './loss.js';
export * from './sgd.js';
export * from './two-two-two.js';
export * from './probe.js';
