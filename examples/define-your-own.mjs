// Define a network in a few lines, train it on MNIST on WebGPU, save it for PyTorch.
//   node examples/define-your-own.mjs        (after `npm ci`, which builds dist/)
import {
  createNodeContext, loadMnist, uploadSplit, encodeCheckpoint, writeFileAtomic,
  Network, Trainer, Sequential, Conv2d, ReLU, MaxPool2d, Flatten, Linear, Dropout, LogSoftmax, AdamW, quietStartupNoise,
} from 'webgpu-backprop/node';

await quietStartupNoise();   // runs this script again with Dawn's start-up warnings kept off stderr

const model = new Sequential({
  features: new Sequential(new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1 }), new ReLU(), new MaxPool2d(2)),
  classifier: new Sequential(new Flatten(), new Linear({ outFeatures: 64 }), new ReLU(), new Dropout(0.1), new Linear({ outFeatures: 10 }), new LogSoftmax()),
});

const ctx = await createNodeContext();
const network = new Network(ctx, model, { inputShape: [1, 28, 28], maxBatch: 64, optimizer: new AdamW({ lr: 2e-3 }) });
console.log(network.summary());   // torchsummary's table, and the fusion rules applied

const { train, test } = await loadMnist();
const trainer = new Trainer(ctx, network, uploadSplit(ctx, 'train', train, 6400), uploadSplit(ctx, 'test', test, 1000), { batch: 64, seed: 1, augment: true });
for (let epoch = 1; epoch <= 2; epoch++) {
  const r = await trainer.trainEpoch(epoch);
  const t = await trainer.evaluate();
  console.log(`epoch ${epoch}: train loss ${r.trainLoss.toFixed(4)}, test accuracy ${t.accuracy.toFixed(2)} %`);
}
// state_dict names: features.0.weight, features.0.bias, classifier.1.weight, … (+ optimizer.*.exp_avg)
await writeFileAtomic('my-net.safetensors', await encodeCheckpoint(network, { epoch: '2' }));
ctx.destroy();
