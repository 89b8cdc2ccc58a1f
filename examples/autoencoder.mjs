// A convolutional autoencoder: MNIST digits squeezed to 32 × 7 × 7 and drawn again, with
// ConvTranspose2d and Upsample as a PyTorch decoder has them, trained on WebGPU against the images
// themselves (regression targets, BCELoss after a Sigmoid).
//   node examples/autoencoder.mjs [samples] [epochs]     (after `npm ci`, which builds dist/)
import {
  createNodeContext, loadMnist, uploadSplit, Network, Trainer, Sequential, Conv2d, ConvTranspose2d, Upsample,
  ReLU, Sigmoid, Flatten, Adam, quietStartupNoise,
} from 'webgpu-backprop/node';

await quietStartupNoise();
const [samples, epochs] = [Number(process.argv[2] ?? 6400), Number(process.argv[3] ?? 2)];

const model = new Sequential({
  encoder: new Sequential(new Conv2d(1, 16, 3, 2, 1), new ReLU(), new Conv2d(16, 32, 3, 2, 1), new ReLU()),       // [32, 7, 7]
  decoder: new Sequential(
    new ConvTranspose2d(32, 16, 3, 2, 1, 1), new ReLU(),                                                      // [16, 14, 14]
    new Upsample({ scaleFactor: 2, mode: 'nearest' }), new Conv2d(16, 1, 3, 1, 1), new Sigmoid(),             // [1, 28, 28]
  ),
  flat: new Flatten(),
});

const ctx = await createNodeContext();
const network = new Network(ctx, model, { inputShape: [1, 28, 28], maxBatch: 64, loss: 'bce', optimizer: new Adam({ lr: 2e-3 }) });
console.log(network.summary());

// Pixels in [0, 1]: the inputs, and the targets the decoder draws.
const { train, test } = await loadMnist();
const pixels = (split, count) => {
  const images = Float32Array.from(split.images.subarray(0, count * 784), (v) => v / 255);
  return { inputs: images, targets: images, count, shape: [1, 28, 28] };
};
const trainer = new Trainer(ctx, network, uploadSplit(ctx, 'train', pixels(train, samples)), uploadSplit(ctx, 'test', pixels(test, Math.min(1000, samples))), { batch: 64, seed: 1 });
for (let epoch = 1; epoch <= epochs; epoch++) {
  const r = await trainer.trainEpoch(epoch);
  const t = await trainer.evaluate();
  console.log(`epoch ${epoch}: train BCE ${r.trainLoss.toFixed(4)}, test BCE ${t.loss.toFixed(4)}`);
}
ctx.destroy();
