/**
 * tfjs.html: the TensorFlow.js comparison page. Exposes `window.tfjsBench` (the SPEC §2 CNN trained
 * with TF.js on its WebGPU backend, src/web/tfjs/seed-cnn-tfjs.ts) for the headless harness, and
 * marks `body[data-ready]` once loaded.
 */
import { runTfjsSeedCnnBench } from './seed-cnn-tfjs';

declare global {
  interface Window {
    tfjsBench: typeof runTfjsSeedCnnBench;
  }
}

const status = document.getElementById('status') ?? document.body.appendChild(document.createElement('p'));
const setStatus = (line: string) => {
  status.textContent = line;
};

window.tfjsBench = async (options) => {
  setStatus(`running: TF.js seed CNN, batch ${options.batch}, ${options.steps} timed steps…`);
  try {
    const result = await runTfjsSeedCnnBench(options);
    setStatus(
      `done: ${result.samples_per_s.toFixed(1)} samples/s (batch ${result.batch}, median ${result.ms_per_step.median.toFixed(0)} ms/step, ` +
        `backend ${result.backend}, adapter ${result.adapter})`,
    );
    return result;
  } catch (error) {
    setStatus(`failed: ${(error as Error).message}`);
    throw error;
  }
};

setStatus(
  navigator.gpu
    ? 'ready: window.tfjsBench({ batch, steps, warmup? }) runs the TF.js WebGPU benchmark'
    : 'ready, but WebGPU is not available in this browser (navigator.gpu is missing)',
);
document.body.dataset.ready = 'true';
