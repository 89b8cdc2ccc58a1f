/** The layer API: PyTorch's vocabulary (nn.Conv2d, nn.Sequential, …) over this engine's kernels. */
export { Layer, ShapeError, shapeSize } from './layer.js';
export type { SampleShape, Mode, ParameterSpec, BufferSpec, ParameterState, LayerBuild, LayerProgram, NodeFusion, WorkspaceSpec } from './layer.js';
export { Conv2d } from './conv2d.js';
export type { Conv2dOptions, ConvPaddingMode } from './conv2d.js';
export { Linear } from './linear.js';
export type { LinearOptions } from './linear.js';
export { ReLU, Sigmoid, Tanh, LeakyReLU, SiLU, GELU, ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh, ReLU6, InputActivation, LogSoftmax, Softmax } from './activations.js';
export { BatchNorm1d, BatchNorm2d } from './batchnorm.js';
export type { BatchNormOptions } from './batchnorm.js';
export { GroupNorm, LayerNorm, InstanceNorm1d, InstanceNorm2d } from './normalization.js';
export type { GroupNormOptions, LayerNormOptions, InstanceNormOptions } from './normalization.js';
export { Dropout, Dropout2d } from './dropout.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d } from './pooling.js';
export { Flatten, Identity } from './flatten.js';
export { Pad2d, ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, CircularPad2d } from './padding.js';
export type { PadMode, Padding2d } from './padding.js';
export { Sequential, Residual, leafLayers, flattenModel } from './sequential.js';
export type { Module, LayerEntry, BlockEntry } from './sequential.js';
