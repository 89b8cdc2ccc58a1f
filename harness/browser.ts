/**
 * The headless-Chromium side of the harness: build the page, serve it on 127.0.0.1 (a secure
 * context, on a free port), and launch the system Chromium through puppeteer-core with the
 * WebGPU flags it needs. Used by `npm run bench` (harness/bench.ts) and the end-to-end test.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const WEB_DIR = resolve(import.meta.dirname, '..', 'dist-web');

/** Builds the pages into dist-web/ (Vite, app mode). */
export async function buildPages(options: { quiet?: boolean } = {}): Promise<string> {
  const { build } = await import('vite');
  await build({ root: resolve(import.meta.dirname, '..'), logLevel: options.quiet ? 'warn' : 'info', mode: 'production' });
  return WEB_DIR;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
};

/**
 * The decoded path of a request's URL, or undefined where it is malformed: a URL that does not
 * parse, percent-encoding that is not UTF-8 (`/%ff`), or a NUL byte.
 */
function requestPath(url: string | undefined): string | undefined {
  try {
    const path = decodeURIComponent(new URL(url ?? '/', 'http://127.0.0.1').pathname);
    return path.includes('\0') ? undefined : path;
  } catch {
    return undefined;
  }
}

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1 at a free port (GET only; nothing outside `dir`). */
export async function serveDirectory(dir: string = WEB_DIR): Promise<StaticServer> {
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`${dir}/index.html is missing: build the page first (npm run build)`);
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    const path = requestPath(req.url);
    if (path === undefined) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('bad request: malformed path\n');
      return;
    }
    let file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    let body: Buffer;
    try {
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!existsSync(file)) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
        return;
      }
      body = readFileSync(file);
    } catch (error) {
      // Unreadable, or gone between the check and the read: answer, and keep serving.
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`cannot read: ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('static server: no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];

/** The system Chromium: $CHROME_PATH, else the usual places. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p));
}

/**
 * Chromium's WebGPU flags: WebGPU on Linux (`--enable-unsafe-webgpu`, Vulkan for a real GPU),
 * SwiftShader as the fallback adapter where there is no GPU, precise timestamp queries
 * (`--enable-webgpu-developer-features`, otherwise quantised to 100 µs).
 */
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--enable-webgpu-developer-features',
  '--enable-features=Vulkan',
  '--ignore-gpu-blocklist',
];

export async function launchChromium(options: { extraArgs?: readonly string[]; protocolTimeout?: number } = {}): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error('no Chromium found (looked at $CHROME_PATH and ' + CHROMIUM_CANDIDATES.join(', ') + '): install it, e.g. `apt-get install chromium`, or set CHROME_PATH');
  }
  const args = [...WEBGPU_FLAGS, ...(options.extraArgs ?? [])];
  // Chromium's sandbox cannot run as root (containers, CI).
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return puppeteer.launch({ executablePath, headless: true, args, protocolTimeout: options.protocolTimeout ?? 900_000 });
}
