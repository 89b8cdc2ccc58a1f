/**
 * webgpu-backprop: a WebGPU training engine. This entry point runs anywhere WebGPU does (the
 * browser, or Node with a device you bring); `webgpu-backprop/node` adds Dawn and adapter
 * discovery for Node.
 *
 *   import { createBrowserContext, runTwoTwoTwo } from 'webgpu-backprop';
 *   const ctx = await createBrowserContext();
 *   const [run] = await runTwoTwoTwo(ctx, { learningRates: [1.0] });
 */
export { GpuContext, CompiledKernel, BoundKernel, copyTensor, recordPass } from './gpu/context.js';
export type { AdapterDescription, GpuContextOptions, Dispatch } from './gpu/context.js';
export { createBrowserContext, describeAdapter, requestDeviceWithLimits } from './gpu/device.js';
export { GpuError, KernelCompileError, NoAdapterError, DeviceLostError, GpuOperationError } from './gpu/errors.js';
export { defineKernel, packParams, workgroupCounts, WORKGROUP_CONSTANTS } from './gpu/kernel.js';
export type { KernelDef, KernelSpec, ParamSpec, BindingsSpec, BindingSpec, ParamValues, TensorBindings, ElementType, ScalarType, Extent } from './gpu/kernel.js';
export { Tensor } from './gpu/tensor.js';
export { ARENA_BLOCK, arenaLayout, createArena, type Arena, type ArenaLayout } from './gpu/arena.js';
export { checkKernelSource } from './gpu/wgsl-check.js';
export * as kernels from './kernels/index.js';
export * as reference from './reference/index.js';
export { TwoTwoTwo, runTwoTwoTwo, SHEET_EXAMPLE } from './models/two-two-two.js';
export type { GradientMode, TwoTwoTwoOptions, TwoTwoTwoRow, TwoTwoTwoRun } from './models/two-two-two.js';
export * from './layers/index.js';
export { SGD, Adam, AdamW, RMSprop, Adagrad, NAdam, RAdam, Adamax, Adadelta, hyperValues } from './optim/optimizers.js';
export type { Optimizer, SgdOptions, AdamOptions, RmspropOptions, AdagradOptions, NadamOptions, RadamOptions, AdamaxOptions, AdadeltaOptions, ParamGroup } from './optim/optimizers.js';
export { scheduledValues, describeSchedule, checkSchedule } from './optim/schedules.js';
export type { Schedule, SchedulePart, LrLambda, ScheduleProgress } from './optim/schedules.js';
export { checkClipping, describeClipping } from './optim/clipping.js';
export type { Clipping, ClipGradNorm } from './optim/clipping.js';
export { FUSION_RULES, LOSS_KINDS } from './plan/fusion.js';
export type { LossKind, AppliedFusion } from './plan/fusion.js';
export { planModel, formatSummary, summaryRows, initialValues, INIT_STREAM, DROPOUT_STREAM } from './plan/plan.js';
export type { ModelPlan, PlanNode, PlanOptions, ResidualBlock, SummaryRow } from './plan/plan.js';
export { calculateGain, checkInit, fanInAndOut, initValues } from './plan/init.js';
export type { Init, Nonlinearity } from './plan/init.js';
export { Network, checkPlanFits, largestPlanBuffer } from './plan/network.js';
export type { NetworkOptions, BufferState, PlanMemory } from './plan/network.js';
export { seedCnn, SEED_CNN_INPUT } from './models/seed-cnn.js';
export { parseModelFile, ModelFileError } from './models/model-file.js';
export type { ModelFile } from './models/model-file.js';
export { Trainer, MNIST_INPUT, DivergenceError } from './train/trainer.js';
export type { TrainerOptions, Progress, EpochResult, EvalResult, FitOptions, FitResult, EpochRecord, TrainingSnapshot } from './train/trainer.js';
export type { RunningMetrics } from './train/loss-head.js';
export { fitWithRecovery, DIVERGENCE_POLICIES } from './train/recovery.js';
export type { RecoveryOptions, RecoveredFit, DivergencePolicy } from './train/recovery.js';
export { decodeHealth, describeDivergence } from './kernels/health.js';
export type { Divergence } from './kernels/health.js';
export { LossHead } from './train/loss-head.js';
export { uploadSplit, destroySplit } from './train/gpu-dataset.js';
export type { ColourSplit, GpuSplit, GpuImageSplit, GpuTensorSplit, TensorSplit } from './train/gpu-dataset.js';
export { parseIdxImages, parseIdxLabels, checkImagesMatchLabels, IdxFormatError } from './data/idx.js';
export type { MnistDataset, MnistSplit } from './data/idx.js';
export { parseNpy, parseNpz, NpyFormatError } from './data/npy.js';
export type { NpyArray, NpyDtype, InflateRaw } from './data/npy.js';
export { dataFromArrays, isImageData, splitInputs, DATA_ARRAYS } from './data/tensor-data.js';
export type { TensorDataset, TrainingData, DataModel } from './data/tensor-data.js';
export { encodeSafetensors, decodeSafetensors, CheckpointFormatError } from './checkpoint/safetensors.js';
export { encodeCheckpoint, loadCheckpoint, networkState, checkCheckpoint, checkpointInfo, optimizerMetadata, optimizerFromMetadata, savedOptimizer, planLayout, checkTensorValues } from './checkpoint/checkpoint.js';
export type { CheckpointInfo, CheckpointLayout, LoadOptions } from './checkpoint/checkpoint.js';
