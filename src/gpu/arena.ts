/**
 * Arenas: several tensors in one buffer, each a member bound as its own range (as llm.c keeps
 * every parameter in one allocation). A network keeps its parameters, their gradients and each
 * optimizer state in an arena apiece, so that one optimizer dispatch updates all of them: the
 * seed CNN's 20 parameter tensors took 20 dispatches, and a dispatch costs lavapipe about 30 µs
 * before any work (100 small ReLU dispatches in one pass, 4.2 ms against 1.3 for one; a GPU's
 * driver costs a few µs each, a large part of a step of milliseconds).
 *
 * Members start on whole blocks of ARENA_BLOCK elements, so that
 * - every member starts on the storage binding's offset alignment (256 bytes, the most an adapter
 *   may ask: `minStorageBufferOffsetAlignment`), and
 * - each block belongs to one member: a kernel over the whole arena finds an element's member
 *   from its block (`memberOfBlock`), as the optimizer steps find the divergence guard's slot.
 * The padding between members is zero and stays zero under the optimizers (a zero gradient moves
 * neither a zero parameter nor its zero state).
 */
import type { GpuContext } from './context.js';
import { Tensor, shapeLength } from './tensor.js';

/** Elements of an arena block (1 KiB of f32): members start on a block. */
export const ARENA_BLOCK = 256;

export interface ArenaLayout {
  /** Each member's first element. */
  readonly offsets: readonly number[];
  /** Elements of the arena: whole blocks. */
  readonly length: number;
  /** For each block, the index of the member it belongs to. */
  readonly memberOfBlock: Uint32Array;
}

/** Where members of these lengths go: one after another, each from a new block. */
export function arenaLayout(lengths: readonly number[]): ArenaLayout {
  const offsets: number[] = [];
  const owners: number[] = [];
  let at = 0;
  lengths.forEach((length, k) => {
    if (!Number.isInteger(length) || length < 1) throw new Error(`arena member ${k}: length ${length} must be a whole number ≥ 1`);
    offsets.push(at);
    const blocks = Math.ceil(length / ARENA_BLOCK);
    for (let b = 0; b < blocks; b++) owners.push(k);
    at += blocks * ARENA_BLOCK;
  });
  return { offsets, length: at, memberOfBlock: Uint32Array.from(owners) };
}

export interface Arena {
  /** The whole arena as one tensor (a kernel over every member binds it). */
  readonly all: Tensor;
  /** The members, in the order given. */
  readonly members: readonly Tensor[];
  readonly layout: ArenaLayout;
}

/** Allocates an arena (zero-filled) for members of these shapes and labels. */
export function createArena(ctx: GpuContext, label: string, members: readonly { readonly label: string; readonly shape: readonly number[] }[]): Arena {
  const layout = arenaLayout(members.map((m) => shapeLength(m.shape)));
  const all = ctx.tensor(label, [layout.length]);
  const tensors = members.map((m, k) => new Tensor(all.buffer, m.shape, 'f32', m.label, false, layout.offsets[k]! * 4));
  return { all, members: tensors, layout };
}
