/**
 * Arenas: several tensors in one buffer, each a member bound as its own range (as llm.c keeps
 * every parameter in one allocation). A network keeps its parameters, their gradients and each
 * optimizer state in an arena apiece, so that one optimizer dispatch updates all of them: the
 * seed CNN's 20 parameter tensors took 20 dispatches, and a dispatch costs lavapipe about 30 µs
 * before any work (100 small ReLU dispatches in one pass, 4.2 ms against 1.3 for one; a GPU's
 * driver costs a few µs each, a large part of a step of milliseconds). Its conv layers' packed
 * weights and weight-gradient partial sums are two more (ArenaBuilder: asked for while the
 * layers are lowered), so that one dispatch packs, and one reduces, for every layer.
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
import type { ElementType } from './kernel.js';
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

/**
 * Allocates an arena (zero-filled) for members of these shapes and labels. `uniform`: the members
 * may also be bound as uniform buffers (each on a 1 KiB block, past the 256-byte uniform offset
 * alignment too).
 */
export function createArena(ctx: GpuContext, label: string, members: readonly { readonly label: string; readonly shape: readonly number[] }[], options: { readonly uniform?: boolean } = {}): Arena {
  const layout = arenaLayout(members.map((m) => shapeLength(m.shape)));
  const uniform = options.uniform === true;
  const all = ctx.tensor(label, [layout.length], { uniform });
  const tensors = members.map((m, k) => new Tensor(all.buffer, m.shape, 'f32', m.label, uniform, layout.offsets[k]! * 4));
  return { all, members: tensors, layout };
}

/**
 * An arena whose members are asked for one at a time (by the layers, as a network lowers them)
 * and allocated together once all are known (`build`). `add` gives a member's tensor as a
 * function: it exists once the arena is built, before any kernel is bound.
 */
export class ArenaBuilder {
  private readonly wanted: { readonly label: string; readonly shape: readonly number[] }[] = [];
  private arena?: Arena;
  private built = false;

  constructor(
    readonly label: string,
    private readonly options: { readonly uniform?: boolean } = {},
  ) {}

  /** Reserves a member; call the function for its tensor once the arena is built. */
  add(label: string, shape: readonly number[]): () => Tensor {
    if (this.built) throw new Error(`${label}: the arena '${this.label}' is allocated already; members are added before build()`);
    const k = this.wanted.push({ label, shape }) - 1;
    return () => {
      if (!this.arena) throw new Error(`${label}: the arena '${this.label}' is not allocated yet (build() comes before binding)`);
      return this.arena.members[k]!;
    };
  }

  /** Allocates the members asked for (none: no buffer, undefined). */
  build(ctx: GpuContext): Arena | undefined {
    if (this.built) throw new Error(`the arena '${this.label}' is allocated already`);
    this.built = true;
    if (this.wanted.length > 0) this.arena = createArena(ctx, this.label, this.wanted, this.options);
    return this.arena;
  }
}

/** A tensor over the whole of `tensor`'s buffer (an arena's members all lie in it), bound from byte 0. */
export function wholeBuffer(tensor: Tensor<'f32'>, label: string): Tensor {
  return new Tensor(tensor.buffer, [tensor.buffer.size / 4], 'f32', label, false);
}

/** Where `tensor` starts in its buffer, in elements. */
export const elementOffset = (tensor: Tensor<ElementType>) => (tensor.byteOffset ?? 0) / 4;
