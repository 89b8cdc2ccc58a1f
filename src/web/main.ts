/**
 * The training page (index.html): finds the browser's WebGPU adapter, says which it is (or why
 * there is none, and what to enable), and mounts the two views.
 */
import './style.css';
import { createBrowserContext } from '../gpu/device.js';
import type { GpuContext } from '../gpu/context.js';
import { DeviceLostError, type GpuError } from '../gpu/errors.js';
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
const contextOptions = {
  onError: (e: GpuError) => {
    // A lost device is the training view's to recover from and report.
    if (e instanceof DeviceLostError) return;
    console.error(e.message);
    noWebgpu.hidden = false;
    noWebgpu.textContent = `GPU error: ${e.message}`;
  },
};
try {
  ctx = await createBrowserContext(navigator.gpu, contextOptions);
} catch (error) {
  explainNoWebgpu(error);
}
if (ctx) {
  adapterLine.textContent = `WebGPU adapter: ${ctx.adapter.summary}${ctx.adapter.features.includes('timestamp-query') ? ' · timestamp queries' : ''}`;
  window.webgpuBackprop = { adapter: ctx.adapter.summary };
  document.body.dataset.webgpu = 'ready';
  // Each view on its own: one failing leaves the other working, and says why in its place.
  const failed = (root: HTMLElement) => (error: unknown) => {
    console.error(error);
    root.prepend(Object.assign(document.createElement('div'), { className: 'error', textContent: `This view failed: ${error instanceof Error ? error.message : String(error)}` }));
  };
  const twoTwoTwoRoot = document.getElementById('two-two-two')!;
  const mnistRoot = document.getElementById('mnist')!;
  void mountTwoTwoTwoView(twoTwoTwoRoot, ctx).catch(failed(twoTwoTwoRoot));
  void mountMnistView(mnistRoot, ctx, { newContext: () => createBrowserContext(navigator.gpu, contextOptions) }).then((mnist) => {
    window.webgpuBackprop!.mnist = mnist;
  }, failed(mnistRoot));
}
