/**
 * A self-checking file for the atomic-write tests: a 16-byte header (magic "AWT1", total length,
 * a counter, the fill byte) and then the fill byte repeated. A torn or partial file fails `checkPayload`.
 */
const MAGIC = 0x31545741; // "AWT1" little-endian

export function makePayload(counter: number, length: number): Uint8Array {
  if (length < 16) throw new Error(`makePayload: length ${length}, expected at least 16`);
  const fill = counter & 0xff;
  const bytes = new Uint8Array(length).fill(fill);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, length, true);
  view.setUint32(8, counter >>> 0, true);
  view.setUint32(12, fill, true);
  return bytes;
}

/** The counter of a valid payload; throws naming what is wrong with an invalid one. */
export function checkPayload(bytes: Uint8Array): number {
  if (bytes.length < 16) throw new Error(`payload of ${bytes.length} bytes, expected at least 16`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new Error('payload without its magic');
  const length = view.getUint32(4, true);
  if (length !== bytes.length) throw new Error(`payload of ${bytes.length} bytes, its header says ${length}`);
  const counter = view.getUint32(8, true);
  const fill = view.getUint32(12, true);
  if (fill !== (counter & 0xff)) throw new Error(`payload ${counter} has fill byte ${fill}`);
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + 16, bytes.length - 16);
  if (!body.equals(Buffer.alloc(body.length, fill))) throw new Error(`payload ${counter}: its body is not all ${fill}`);
  return counter;
}
