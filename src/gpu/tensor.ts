/**
 * GPU tensors: a storage buffer with a shape, an element type and a label.
 *
 * Tensors are dense and row-major (NCHW for images). They are created through a `GpuContext`,
 * which owns upload and read-back. A tensor is its buffer from the start, or a member of an arena
 * (src/gpu/arena.ts): a range of a shared buffer, bound as that range.
 */
import type { ElementType } from './kernel.js';

export type TypedArrayFor<E extends ElementType> = E extends 'f32'
  ? Float32Array
  : E extends 'u32'
    ? Uint32Array
    : Int32Array;

export class Tensor<E extends ElementType = 'f32'> {
  readonly length: number;

  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: E,
    readonly label: string,
    /** Also bindable as a uniform buffer (`Access` 'uniform'). */
    readonly uniform = false,
    /**
     * Where an arena's member starts in the shared buffer (bytes; undefined: the tensor is its
     * buffer from the start, bound whole). A member is bound as its own range.
     */
    readonly byteOffset?: number,
  ) {
    this.length = shapeLength(shape);
  }

  /** The bytes of `buffer` this tensor's bindings cover: [start, end). */
  get bindingRange(): readonly [number, number] {
    return this.byteOffset === undefined ? [0, this.buffer.size] : [this.byteOffset, this.byteOffset + this.byteLength];
  }

  /** The bind-group resource: the whole buffer, or an arena member's range. */
  get binding(): GPUBufferBinding {
    return this.byteOffset === undefined ? { buffer: this.buffer } : { buffer: this.buffer, offset: this.byteOffset, size: this.byteLength };
  }

  /** Size in bytes (every element type is 4 bytes). */
  get byteLength(): number {
    return this.length * 4;
  }

  toString(): string {
    return `${this.label} ${this.dtype}[${this.shape.join('×')}]`;
  }
}

export function shapeLength(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid tensor shape [${shape.join(', ')}]: dimensions must be whole numbers ≥ 0`);
    n *= d;
  }
  return n;
}

export function typedArrayFor<E extends ElementType>(dtype: E, data: ArrayBuffer | ArrayLike<number>): TypedArrayFor<E> {
  const Ctor = dtype === 'f32' ? Float32Array : dtype === 'u32' ? Uint32Array : Int32Array;
  return (data instanceof ArrayBuffer ? new Ctor(data) : Ctor.from(data)) as TypedArrayFor<E>;
}
