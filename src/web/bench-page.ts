/**
 * bench.html: the benchmark scenarios (src/bench/scenarios.ts) on the browser's WebGPU, driven by
 * the headless harness (`npm run bench`, harness/bench.ts) through `window.runBench`. Opened by
 * hand, it runs them once with the defaults and prints the JSON.
 */
import { formatBenchTable, runBenchmarks, type BenchReport } from '../bench/scenarios.js';
import { createBrowserContext } from '../gpu/device.js';
import { loadMnistTrainFromPage } from './mnist-data.js';

const logElement = document.getElementById('log')!;
const log = (line: string) => {
  logElement.textContent += `${line}\n`;
};

async function runBench(options: { batches: number[]; steps: number }): Promise<BenchReport> {
  logElement.textContent = '';
  const ctx = await createBrowserContext(navigator.gpu, { onError: (e) => log(`GPU error: ${e.message}`) });
  try {
    log(`adapter: ${ctx.adapter.summary}`);
    const train = await loadMnistTrainFromPage();
    const report = await runBenchmarks(ctx, train, { ...options, runtime: navigator.userAgent, log });
    log(formatBenchTable(report));
    return report;
  } finally {
    ctx.destroy();
  }
}

declare global {
  interface Window {
    runBench: typeof runBench;
  }
}
window.runBench = runBench;
document.body.dataset.ready = 'true';
if (!navigator.webdriver) {
  runBench({ batches: [128], steps: 5 }).then(
    (report) => log(JSON.stringify(report, null, 2)),
    (error: Error) => log(`failed: ${error.message}`),
  );
}
