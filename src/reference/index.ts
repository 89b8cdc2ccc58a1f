/** The float64 CPU reference, one module per kernel family. */
export * from './dense.js';
export * from './sigmoid.js';
export * from './loss.js';
export * from './sgd.js';
export * from './two-two-two.js';
export * from './probe.js';
export * from './conv2d.js';
export * from './relu.js';
export * from './batchnorm.js';
export * from './random.js';
export * from './mnist-input.js';
export * from './pooling.js';
export * from './nll.js';
export * from './sgd-momentum.js';
export * from './seed-cnn.js';
