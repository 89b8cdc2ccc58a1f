import { defineConfig } from 'vitest/config';
import { mnistDataPlugin } from './harness/vite-mnist-data.js';
import { bundledVulkanLoaderDir, findVulkanLoader } from './src/node/vulkan.js';

// Test workers load Dawn, which needs libvulkan.so.1 at process start: where the system has none
// but Chromium ships one, hand it to the workers.
const loaderDir = bundledVulkanLoaderDir();
if (!findVulkanLoader() && loaderDir) {
  process.env.LD_LIBRARY_PATH = [loaderDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

export default defineConfig(({ mode }) => ({
  // `vite build --mode lib`: the module (dist/index.js for any WebGPU, dist/node.js for Node) and
  // the command (dist/cli.js).
  // `vite` / `vite build` / `vite preview`: the training page (index.html), the benchmark page
  // driven by `npm run bench` (bench.html) and the TF.js comparison page (tfjs.html), in dist-web/.
  build:
    mode === 'lib'
      ? {
          lib: { entry: { index: 'src/index.ts', node: 'src/node/index.ts', cli: 'src/cli/bin.ts' }, formats: ['es'] },
          outDir: 'dist',
          target: 'es2022',
          minify: false,
          rollupOptions: { external: [/^node:/, 'webgpu'] },
        }
      : {
          outDir: 'dist-web',
          target: 'es2022',
          chunkSizeWarningLimit: 2048,
          rollupOptions: { input: { index: 'index.html', bench: 'bench.html', tfjs: 'tfjs.html' } },
        },
  plugins: mode === 'lib' ? [] : [mnistDataPlugin()],
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // GPU tests share one software adapter: run files one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
}));
