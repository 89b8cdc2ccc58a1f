import { defineConfig } from 'vitest/config';
import { bundledVulkanLoaderDir, findVulkanLoader } from './src/node/vulkan.js';

// Test workers load Dawn, which needs libvulkan.so.1 at process start: where the system has none
// but Chromium ships one, hand it to the workers.
const loaderDir = bundledVulkanLoaderDir();
if (!findVulkanLoader() && loaderDir) {
  process.env.LD_LIBRARY_PATH = [loaderDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

export default defineConfig(({ mode }) => ({
  // `vite build --mode lib`: the module (dist/index.js for any WebGPU, dist/node.js for Node).
  build:
    mode === 'lib'
      ? {
          lib: { entry: { index: 'src/index.ts', node: 'src/node/index.ts' }, formats: ['es'] },
          outDir: 'dist',
          target: 'es2022',
          minify: false,
          rollupOptions: { external: [/^node:/, 'webgpu'] },
        }
      : undefined,
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // GPU tests share one software adapter: run files one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
}));
