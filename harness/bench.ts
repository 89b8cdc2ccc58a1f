/**
 * `npm run bench`: the benchmark scenarios in headless Chromium.
 *
 * Builds the pages (Vite), serves dist-web/ on 127.0.0.1 at a free port, launches the system
 * Chromium through puppeteer-core with the WebGPU flags (the real GPU where there is one, else
 * SwiftShader), runs src/bench/scenarios.ts inside bench.html (checks against the CPU reference
 * first, then the probes, the 2-2-2 run and the seed-CNN step), writes the JSON to bench-results/
 * and prints a table on stdout (progress on stderr). Exits non-zero on any failure.
 *
 *   --batch 32,64,128     batch sizes (the default sweep)    --steps N   timed steps (default 10)
 *   --compare tfjs        the same CNN in TensorFlow.js (WebGPU backend) in the same browser
 *   --compare node        the same scenarios in Node (Dawn) too, on the browser's adapter where
 *                         Node has it (SwiftShader): the browser-vs-Node ratio
 *   --compare tfjs,node   both                               --tfjs-steps N (default 3)
 *   --no-build            reuse dist-web/                    --chrome-arg ARG (repeatable)
 *   --json                the JSON on stdout instead of the table
 */
import type { BenchReport } from '../src/bench/scenarios.js';
import { formatBenchTable, runBenchmarks } from '../src/bench/scenarios.js';
import type { TfjsSeedCnnBenchResult } from '../src/web/tfjs/seed-cnn-tfjs.js';
import { harnessArgs, usageError, wholeOption } from './args.js';
import { parseBenchArgs, writeBenchResult } from './bench-args.js';
import { buildPages, launchChromium, serveDirectory } from './browser.js';

const values = harnessArgs(import.meta.url, 'bench', {
  batch: { type: 'string' },
  steps: { type: 'string' },
  compare: { type: 'string' },
  'tfjs-steps': { type: 'string' },
  'no-build': { type: 'boolean' },
  'chrome-arg': { type: 'string', multiple: true },
  json: { type: 'boolean' },
});
const { batches, steps } = parseBenchArgs('bench', values);
const compare = new Set((values.compare ?? '').split(',').filter(Boolean));
for (const c of compare) if (c !== 'tfjs' && c !== 'node') usageError('bench', `--compare takes tfjs, node or tfjs,node, got '${c}'`);
const tfjsSteps = wholeOption('bench', values, 'tfjs-steps', 3);


if (!values['no-build']) await buildPages({ quiet: true });
const server = await serveDirectory();
const browser = await launchChromium({ extraArgs: values['chrome-arg'] ?? [] });
let failed = false;
try {
  const browserVersion = await browser.version();
  const page = await browser.newPage();
  page.on('console', (m) => console.error(`[page] ${m.text()}`));
  page.on('pageerror', (e) => {
    failed = true;
    console.error(`[page error] ${e instanceof Error ? e.message : String(e)}`);
  });
  await page.goto(`${server.url}bench.html`);
  await page.waitForSelector('body[data-ready]');
  const browserReport = await page.evaluate((o) => window.runBench(o), { batches, steps });
  const report = { ...browserReport, runtime: `${browserVersion} (headless, puppeteer)`, user_agent: browserReport.runtime };
  const extra: string[] = [];
  const comparisons: Record<string, unknown> = {};
  const ours = report.scenarios.find((s) => s.batch === 128) ?? report.scenarios[report.scenarios.length - 1]!;

  if (compare.has('tfjs')) {
    console.error(`TF.js: the same CNN, batch ${ours.batch}, ${tfjsSteps} timed steps (slow on a software adapter) …`);
    const tfPage = await browser.newPage();
    tfPage.on('console', (m) => console.error(`[tfjs page] ${m.text()}`));
    await tfPage.goto(`${server.url}tfjs.html`);
    await tfPage.waitForSelector('body[data-ready]');
    const tf = await tfPage.evaluate((o) => (window as unknown as { tfjsBench: (o: { batch: number; steps: number }) => Promise<TfjsSeedCnnBenchResult> }).tfjsBench(o), { batch: ours.batch, steps: tfjsSteps });
    // Like with like: TF.js times steps one at a time, each waited for (it reads the loss back), so
    // the ratio uses our steps timed the same way (ms_per_step), not our pipelined samples/s.
    const ratio = tf.ms_per_step.median / ours.ms_per_step.median;
    comparisons.tfjs = { ...tf, ratio: Number(ratio.toFixed(2)), ratio_measure: 'median ms per step, each step waited for, same batch' };
    extra.push('', `TF.js ${tf.tfjs_version} (${tf.backend}, ${tf.adapter}), batch ${tf.batch}: median ${tf.ms_per_step.median.toFixed(0)} ms/step = ${tf.samples_per_s.toFixed(2)} samples/s`);
    extra.push(`this engine, batch ${ours.batch}: median ${ours.ms_per_step.median} ms/step = ${(ours.batch / (ours.ms_per_step.median / 1000)).toFixed(1)} samples/s (pipelined: ${ours.samples_per_s})`);
    extra.push(`this engine is ${ratio.toFixed(1)}× faster than TF.js (median step time, each step waited for)`);
    await tfPage.close();
  }
  if (compare.has('node')) {
    // Same adapter on both sides, so that the ratio compares the runtimes: where the browser got
    // SwiftShader, Node takes SwiftShader too (WEBGPU_BACKPROP_ADAPTER overrides).
    if (!process.env.WEBGPU_BACKPROP_ADAPTER && /swiftshader/i.test(report.adapter)) process.env.WEBGPU_BACKPROP_ADAPTER = 'swiftshader';
    console.error(`Node: the same scenarios through Dawn${process.env.WEBGPU_BACKPROP_ADAPTER ? ` (adapter: ${process.env.WEBGPU_BACKPROP_ADAPTER})` : ''} …`);
    const { createNodeContext } = await import('../src/node/device.js');
    const { loadMnist } = await import('../src/node/mnist-files.js');
    const ctx = await createNodeContext();
    try {
      const node: BenchReport = await runBenchmarks(ctx, (await loadMnist()).train, { batches, steps, runtime: `Node ${process.versions.node}, Dawn (npm webgpu)` });
      const nodeOurs = node.scenarios.find((s) => s.batch === ours.batch)!;
      const ratio = ours.samples_per_s / nodeOurs.samples_per_s;
      comparisons.node = { adapter: node.adapter, fma_peak_gflops: node.fma_peak_gflops, scenarios: node.scenarios, ratio: Number(ratio.toFixed(2)) };
      extra.push('', `Node (${node.adapter}), batch ${ours.batch}: ${nodeOurs.samples_per_s} samples/s; browser / Node: ${ratio.toFixed(2)}×`);
    } finally {
      ctx.destroy();
    }
  }
  const result = { ...report, compare: comparisons };
  const file = await writeBenchResult('browser', result);
  console.log(values.json ? JSON.stringify(result, null, 2) : `${formatBenchTable(report, extra)}\n\nJSON: ${file}`);
} catch (error) {
  failed = true;
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await browser.close();
  await server.close();
}
if (failed) process.exit(1);
