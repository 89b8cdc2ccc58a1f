/**
 * The training page (index.html): finds the browser's WebGPU adapter, says which it is (or why
 * there is none, and what to enable), and mounts the two views.
 */
import './style.css';
import { createBrowserContext } from '../gpu/device.js';
import type { GpuContext } from '../gpu/context.js';
import { mountMnistView, type MnistViewState } from './mnist-view.js';
import { mountTwoTwoTwoView } from './two-two-two-view.js';

declare global {
  interface Window {
    /** Read-only state for the end-to-end test (test/e2e/page.test.ts). */
    webgpuBackprop?: { adapter: string; mnist?: MnistViewState };
  }
}

const adapterLine = document.getElementById('adapter')!;
const noWebgpu = document.getElementById('no-webgpu')!;

function explainNoWebgpu(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  noWebgpu.hidden = false;
  noWebgpu.textContent =
    `WebGPU is not available here: ${message}\n\n` +
    'What to do:\n' +
    '• Use a current Chrome or Edge (113+), Safari 26+ or Firefox 141+ (Windows) and open the page over http://localhost or https.\n' +
    '• On Linux Chrome: enable chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan, then relaunch.\n' +
    '• Without a GPU: start Chromium with --enable-unsafe-webgpu --enable-unsafe-swiftshader (a software adapter).';
  adapterLine.textContent = 'No WebGPU adapter.';
  document.body.dataset.webgpu = 'unavailable';
}

for (const tab of document.querySelectorAll<HTMLButtonElement>('nav .tab')) {
  tab.addEventListener('click', () => {
    for (const t of document.querySelectorAll('nav .tab')) t.classList.toggle('active', t === tab);
    for (const view of document.querySelectorAll<HTMLElement>('main .view')) view.hidden = view.id !== tab.dataset.view;
  });
}

let ctx: GpuContext | undefined;
try {
  ctx = await createBrowserContext(navigator.gpu, {
    onError: (e) => {
      noWebgpu.hidden = false;
      noWebgpu.textContent = `GPU error: ${e.message}`;
    },
  });
} catch (error) {
  explainNoWebgpu(error);
}
if (ctx) {
  adapterLine.textContent = `WebGPU adapter: ${ctx.adapter.summary}${ctx.adapter.features.includes('timestamp-query') ? ' · timestamp queries' : ''}`;
  window.webgpuBackprop = { adapter: ctx.adapter.summary };
  document.body.dataset.webgpu = 'ready';
  const [, mnist] = await Promise.all([
    mountTwoTwoTwoView(document.getElementById('two-two-two')!, ctx),
    mountMnistView(document.getElementById('mnist')!, ctx),
  ]);
  window.webgpuBackprop.mnist = mnist;
}
