/**
 * harness/browser.ts's static server (used by `npm run bench` and the page's end-to-end test):
 * a malformed request path is answered 400 and does not take the server down; nothing outside
 * the served folder is handed out.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory, type StaticServer } from '../../harness/browser.js';

/** A raw GET: the path goes on the wire exactly as written (fetch would normalise it). */
function get(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((ok, fail) => {
    const req = request({ host: hostname, port: Number(port), path, method: 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('error', fail);
    // Without an answer (the server's handler threw), fail in seconds rather than hang.
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer to GET ${path} within 5 s`)));
    req.end();
  });
}

const PAGE = '<!doctype html><title>static-server test</title>';
const SECRET = 'outside the served folder';

describe('serveDirectory', () => {
  let tmp: string;
  let server: StaticServer;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'static-server-'));
    const site = join(tmp, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), PAGE);
    writeFileSync(join(tmp, 'secret.txt'), SECRET);
    // A folder whose index.html is itself a folder: reading it fails (EISDIR).
    mkdirSync(join(site, 'odd', 'index.html'), { recursive: true });
    server = await serveDirectory(site);
  });

  afterAll(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the index', async () => {
    const res = await get(server.url, '/');
    expect(res.status).toBe(200);
    expect(res.body).toBe(PAGE);
  });

  it.each(['/%ff', '/%', '/%zz/index.html', '/a%e0%80'])('answers 400 to bad percent-encoding (%s) and keeps serving', async (path) => {
    const bad = await get(server.url, path);
    expect(bad.status).toBe(400);
    expect(bad.body.length).toBeGreaterThan(0);
    const after = await get(server.url, '/');
    expect(after.status).toBe(200);
    expect(after.body).toBe(PAGE);
  });

  it('answers 400 to a NUL byte in the path and keeps serving', async () => {
    expect((await get(server.url, '/index.html%00.js')).status).toBe(400);
    expect((await get(server.url, '/%00')).status).toBe(400);
    const after = await get(server.url, '/index.html');
    expect(after.status).toBe(200);
    expect(after.body).toBe(PAGE);
  });

  it.each(['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/..%5csecret.txt'])(
    'does not hand out a file above the folder (%s)',
    async (path) => {
      const res = await get(server.url, path);
      expect([400, 403, 404]).toContain(res.status);
      expect(res.body).not.toContain(SECRET);
    },
  );

  it('answers 500 to a file it cannot read and keeps serving', async () => {
    expect((await get(server.url, '/odd')).status).toBe(500);
    expect((await get(server.url, '/')).status).toBe(200);
  });

  it('answers 404 to a missing file', async () => {
    const res = await get(server.url, '/missing.js');
    expect(res.status).toBe(404);
  });
});
