/** Every declared kernel (and nothing else), for tools and for the declaration test. */
export { denseForward, denseBackwardInput, denseBackwardWeight } from './dense.js';
export { sigmoidForward, sigmoidBackward } from './sigmoid.js';
export { activationForward, activationBackward } from './activation.js';
export { halfSquaredError } from './half-squared-error.js';
export { sgdUpdate } from './sgd.js';
export { fmaPeak, bandwidthProbe } from './probe.js';
export { conv2dForward, conv2dBackwardInput, conv2dBackwardInputPointwise, conv2dPackWeights, conv2dBackwardWeight, conv2dBackwardWeightPointwise, conv2dBackwardWeightWide, conv2dBackwardWeightReduce } from './conv2d.js';
export { conv2dGeneralForward, conv2dGeneralBackwardInput, conv2dGeneralBackwardWeight } from './conv2d-general.js';
export { reluForward, reluBackward } from './relu.js';
export { dropoutForward, dropoutBackward } from './dropout.js';
export {
  batchnormStats,
  batchnormStatsMerge,
  batchnormMergeForward,
  batchnormMomentsMerge,
  batchnormEvalStats,
  batchnormForward,
  batchnormDropoutForward,
  batchnormBackwardReduce,
  batchnormBackwardInput,
  batchnormSumsMerge,
} from './batchnorm.js';
export { maxpool2x2Forward, maxpool2x2Backward, globalAvgPoolForward, globalAvgPoolBackward, pool2dForward, pool2dBackward } from './pooling.js';
export { logSoftmaxNllForward, logSoftmaxNllBackward, batchMetrics } from './nll.js';
export { shufflePermutation, mnistBatch, gatherBatch } from './data.js';
export { biasAdd, biasBackward } from './bias.js';
export { tanhForward, tanhBackward } from './tanh.js';
export { logSoftmaxForward, logSoftmaxBackward, nllForward, nllBackward } from './log-softmax.js';
export { pointwiseLoss } from './pointwise-loss.js';
export { sgdStep, adamStep, rmspropStep, adagradStep, adadeltaStep, gradNorm } from './optimizers.js';
export { sampleNormForward, sampleNormBackwardInput, sampleNormBackwardAffine } from './sample-norm.js';
export { residualAdd } from './residual.js';
export { pad2dForward, pad2dBackward } from './padding.js';
export { upsample2dForward, upsample2dBackward } from './upsample.js';
export { prelu, preluBackwardWeight } from './prelu.js';
export { glu } from './glu.js';
export { rrelu } from './rrelu.js';
export { shuffle } from './shuffle.js';
export { lstmForwardStep, lstmBackwardStep } from './lstm.js';
export { gruForwardStep, gruBackwardStep } from './gru.js';
export { embeddingForward, embeddingSort, embeddingBackwardWeight, embeddingRenorm } from './embedding.js';
export { permute } from './permute.js';
export { attentionScores, attentionValues, attentionBackwardValues, attentionBackwardScores, attentionBackwardQk } from './attention.js';
