/**
 * GPU tensors: a storage buffer with a shape, an element type and a label.
 *
 * Tensors are dense and row-major (NCHW for images). They are created through a `GpuContext`,
 * which owns upload and read-back.
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
  ) {
    this.length = shapeLength(shape);
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
