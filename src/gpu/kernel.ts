/**
 * Typed kernel declarations.
 *
 * A kernel is declared once (`defineKernel`): its WGSL source, its parameter struct, its storage
 * bindings with their element type and access, its workgroup size and the size of its grid.
 * Everything else is derived from that one declaration:
 *
 * - the binding layout: `@binding(0)` is the `Params` uniform, the declared bindings (storage, or
 *   a packed uniform array) follow in the declared order from `@binding(1)`, all in `@group(0)`;
 * - the uniform packing: every parameter is a 4-byte scalar at offset 4·i, the buffer is rounded
 *   up to 16 bytes;
 * - the workgroup size: passed to the shader as the override constants `WG_X`, `WG_Y`, `WG_Z`
 *   (so the WGSL never repeats a number the host also types);
 * - the dispatch size: ceil(grid / workgroup size) per dimension.
 *
 * `test/wgsl-declarations.test.ts` holds every kernel's WGSL against its declaration without a GPU.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import linearSource from '../../shaders/lib/linear.wgsl?raw';
import type { Tensor } from './tensor.js';

export type ScalarType = 'f32' | 'u32' | 'i32';
export type ElementType = 'f32' | 'u32' | 'i32';
/**
 * How a kernel binds a tensor: a read-only or read-write storage buffer, or (`uniform`) a uniform
 * buffer declared `var<uniform> NAME: array<vec4f, NAME_VEC4S>` (a tensor created with `uniform:
 * true`, at most 64 KiB). Uniform reads are the cheap path for values every invocation of a
 * workgroup reads at the same address (packed conv weights: see src/kernels/conv2d.ts).
 */
export type Access = 'read' | 'read_write' | 'uniform';

/** WebGPU's guaranteed maxUniformBufferBindingSize (Chromium's limit too): 64 KiB. */
export const MAX_UNIFORM_BYTES = 65536;

export interface BindingSpec<E extends ElementType = ElementType> {
  readonly type: E;
  readonly access: Access;
  /**
   * A declared variant (`defines`) in which the WGSL reads this storage binding four elements at
   * a time, as `array<vec4<TYPE>>` (lavapipe moves a vec4 per invocation far faster than four
   * scalars). The binding's length stays counted in elements; binding that variant requires it
   * (for the parameters bound) to be a multiple of 4.
   */
  readonly vec4?: string;
  /** The same with two elements at a time, `array<vec2<TYPE>>` (where both are set, vec4 wins). */
  readonly vec2?: string;
  /**
   * A declared variant outside which the binding does not exist: the WGSL declares it inside
   * `#if NAME`, the layout leaves its number out, and bind() takes it only for that variant (a
   * batch norm's dropout mask, read only where a Dropout follows it). Its number stays its place
   * in the declared order, so the other bindings keep theirs in every variant.
   */
  readonly only?: string;
  /**
   * A declared variant in which the binding does not exist although `only` holds (the WGSL leaves
   * it out under `#if NAME`): a batch norm's input gradient where it is written over dy in place.
   */
  readonly unless?: string;
  /**
   * A declared variant in which this `read` storage binding is declared `read_write` (written in
   * place: a batch norm's dy, overwritten by its input gradient). bind() then refuses any other
   * binding of the same memory, as for every written binding.
   */
  readonly writtenIn?: string;
}

/** Whether a binding exists in a variant (see BindingSpec.only, BindingSpec.unless). */
export function bindingPresent(spec: BindingSpec, defines: Readonly<Record<string, boolean | undefined>>): boolean {
  return (spec.only === undefined || defines[spec.only] === true) && (spec.unless === undefined || defines[spec.unless] !== true);
}

/** A binding's access in a variant: `read_write` where it is written in place (BindingSpec.writtenIn). */
export function accessIn(spec: BindingSpec, defines: Readonly<Record<string, boolean | undefined>>): Access {
  return spec.writtenIn !== undefined && defines[spec.writtenIn] === true ? 'read_write' : spec.access;
}

/** How many elements a variant's WGSL reads of a binding at a time: 4, 2 or 1 (see BindingSpec.vec4). */
export function elementsPerRead(spec: BindingSpec, defines: Readonly<Record<string, boolean | undefined>>): 1 | 2 | 4 {
  if (spec.vec4 !== undefined && defines[spec.vec4]) return 4;
  if (spec.vec2 !== undefined && defines[spec.vec2]) return 2;
  return 1;
}

export type ParamSpec = Readonly<Record<string, ScalarType>>;
export type BindingsSpec = Readonly<Record<string, BindingSpec>>;

/** The values of a parameter struct: one number per declared field. */
export type ParamValues<P extends ParamSpec> = { readonly [K in keyof P]: number };

/**
 * The tensors a kernel is bound to: the declared names, each of the declared element type; a
 * binding of some variants only (BindingSpec.only, .unless) is optional here, and bind() requires
 * it exactly when such a variant is compiled.
 */
type Optional = { readonly only: string } | { readonly unless: string };
export type TensorBindings<B extends BindingsSpec> = { readonly [K in keyof B as B[K] extends Optional ? never : K]: Tensor<B[K]['type']> } & {
  readonly [K in keyof B as B[K] extends Optional ? K : never]?: Tensor<B[K]['type']>;
};

export type Extent = readonly [number] | readonly [number, number] | readonly [number, number, number];

/** Names of the override constants that carry the workgroup size into WGSL, by dimension. */
export const WORKGROUP_CONSTANTS = ['WG_X', 'WG_Y', 'WG_Z'] as const;

export interface KernelSpec<P extends ParamSpec, B extends BindingsSpec, D extends string = never> {
  /** Kernel name: also the WGSL file stem, the entry point and the label of every GPU object. */
  readonly name: string;
  /** The WGSL source (may hold `#if NAME … #else … #endif` blocks for the declared `defines`). */
  readonly source: string;
  /** Fields of the WGSL `struct Params`, in order. */
  readonly params: P;
  /** Storage bindings, in binding order from 1. */
  readonly bindings: B;
  /** Workgroup size; its entries reach the shader as the overrides WG_X, WG_Y, WG_Z. */
  readonly workgroupSize: Extent;
  /** Invocations needed per dimension, from the parameters (the dispatch is rounded up). */
  readonly grid: (params: ParamValues<P>, workgroupSize: Extent) => Extent;
  /** Elements each binding must hold for these parameters: bound tensors are checked against it. */
  readonly lengths: (params: ParamValues<P>) => { readonly [K in keyof B]: number };
  /** Structural variants of the kernel: names usable in `#if NAME` blocks of the source. */
  readonly defines?: readonly D[];
  /**
   * What a variant needs of the parameters bound, beyond its vec4 bindings' lengths (a batch
   * norm's VEC4: whole vec4s in every channel's plane): a reason it cannot run them, or undefined.
   */
  readonly variantRequires?: { readonly [K in D]?: (params: ParamValues<P>) => string | undefined };
  /**
   * A device feature a variant's WGSL enables (`enable subgroups;` inside its `#if`): compiling
   * the variant on a device without it is refused with an error naming both.
   */
  readonly variantFeatures?: { readonly [K in D]?: GPUFeatureName };
  /**
   * Variants a variant is only ever compiled with (a pointwise gradient's POOL reads its dy as
   * vectors): setting it sets them too (withImpliedVariants), wherever the kernel is compiled,
   * bound or checked, so a variant set alone still compiles.
   */
  readonly variantImplies?: { readonly [K in D]?: readonly D[] };
  /**
   * Tile sizes the host also needs (for the grid): each must appear in the WGSL (the kernel's
   * source or an appended library) as `const NAME = VALUEu;`, which the declaration test checks, so the number is typed once here
   * and once there, and the two cannot drift apart unnoticed.
   */
  readonly constants?: Readonly<Record<string, number>>;
  /** WGSL function libraries (shaders/lib/, or generated) appended after the kernel's own source; their `#if` blocks are the kernel's variants too. */
  readonly libraries?: readonly string[];
  /**
   * A 1-D grid whose invocation index the kernel takes from `linearInvocation(gid3, nwg)`
   * (shaders/lib/linear.wgsl, appended): a grid longer than the device's workgroups per
   * dimension is then dispatched folded into 2-D, so no size of batch or layer runs into it.
   */
  readonly linear?: boolean;
}

export interface KernelDef<P extends ParamSpec, B extends BindingsSpec, D extends string = never>
  extends KernelSpec<P, B, D> {
  readonly paramNames: readonly (keyof P & string)[];
  readonly bindingNames: readonly (keyof B & string)[];
  /** Size in bytes of the packed uniform buffer. */
  readonly uniformSize: number;
  /** The WGSL text for one variant (the `#if` blocks resolved). */
  sourceFor(defines?: Partial<Record<D, boolean>>): string;
}

/** Any declared kernel, whatever its parameters (for registries and tests). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKernelDef = KernelDef<any, any, any>;

export function defineKernel<P extends ParamSpec, B extends BindingsSpec, D extends string = never>(
  spec: KernelSpec<P, B, D>,
): KernelDef<P, B, D> {
  const paramNames = Object.keys(spec.params) as (keyof P & string)[];
  if (paramNames.length === 0) {
    throw new Error(`kernel ${spec.name}: declare at least one parameter (a size for the bounds guard)`);
  }
  const bindingNames = Object.keys(spec.bindings) as (keyof B & string)[];
  const uniformSize = Math.ceil((paramNames.length * 4) / 16) * 16;
  const declared = new Set<string>(spec.defines ?? []);
  return {
    ...spec,
    paramNames,
    bindingNames,
    uniformSize,
    sourceFor(asked = {}) {
      for (const name of Object.keys(asked)) {
        if (!declared.has(name)) throw new Error(`kernel ${spec.name}: unknown variant '${name}'`);
      }
      const defines = withImpliedVariants(spec, asked as Readonly<Record<string, boolean | undefined>>);
      const resolve = (text: string) => resolveDefines(text, defines);
      return [resolve(spec.source), ...(spec.libraries ?? []).map(resolve), ...(spec.linear ? [linearSource] : [])].join('\n');
    },
  };
}

/** A variant set with the variants its members imply (KernelSpec.variantImplies) set too. */
export function withImpliedVariants(spec: Pick<AnyKernelDef, 'variantImplies'>, defines: Readonly<Record<string, boolean | undefined>>): Readonly<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const [name, on] of Object.entries(defines)) if (on !== undefined) out[name] = on;
  const implies = (spec.variantImplies ?? {}) as Readonly<Record<string, readonly string[] | undefined>>;
  for (const [name, on] of Object.entries(defines)) if (on) for (const other of implies[name] ?? []) out[other] = true;
  return out;
}

/**
 * Resolves `#if NAME` blocks with wgsl-preprocessor: each `#if NAME` / `#elif NAME` becomes a
 * template-literal interpolation of the define's value, which is the form the preprocessor takes.
 */
export function resolveDefines(source: string, defines: Readonly<Record<string, boolean>>): string {
  const strings: string[] = [];
  const values: boolean[] = [];
  let last = 0;
  for (const m of source.matchAll(/#(if|elif)[ \t]+([A-Za-z_][A-Za-z0-9_]*)/g)) {
    strings.push(source.slice(last, m.index) + `#${m[1]} `);
    values.push(defines[m[2]!] === true);
    last = m.index! + m[0].length;
  }
  strings.push(source.slice(last));
  const raw = Object.assign([...strings], { raw: strings }) as TemplateStringsArray;
  return wgsl(raw, ...values);
}

/** Packs parameter values into the uniform layout derived from the declaration. */
export function packParams<P extends ParamSpec>(def: KernelDef<P, BindingsSpec, string>, values: ParamValues<P>): ArrayBuffer {
  const data = new ArrayBuffer(def.uniformSize);
  const view = new DataView(data);
  def.paramNames.forEach((name, i) => {
    const value = values[name];
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new Error(`kernel ${def.name}: parameter '${name}' must be a number, got ${String(value)}`);
    }
    const type = def.params[name];
    if (type === 'f32') {
      view.setFloat32(i * 4, value, true);
    } else {
      if (!Number.isInteger(value)) {
        throw new Error(`kernel ${def.name}: parameter '${name}' is ${type} but got ${value}`);
      }
      if (type === 'u32') {
        if (value < 0 || value > 0xffffffff) throw new Error(`kernel ${def.name}: parameter '${name}' = ${value} is out of u32 range`);
        view.setUint32(i * 4, value, true);
      } else {
        view.setInt32(i * 4, value, true);
      }
    }
  });
  return data;
}

/**
 * Workgroup counts for a grid: ceil(grid / workgroup size) per dimension, padded to 3D. With
 * `foldAbove` (a `linear` kernel and the device's limit per dimension), a 1-D count above it is
 * folded into 2-D: [foldAbove, ⌈count / foldAbove⌉, 1] (the kernel guards the index past the end).
 */
export function workgroupCounts(grid: Extent, workgroupSize: Extent, foldAbove?: number): [number, number, number] {
  const counts: [number, number, number] = [1, 1, 1];
  for (let d = 0; d < 3; d++) {
    const n = grid[d] ?? 1;
    const wg = workgroupSize[d] ?? 1;
    counts[d] = Math.ceil(n / wg);
  }
  if (foldAbove !== undefined && counts[0] > foldAbove && counts[1] === 1 && counts[2] === 1) {
    return [foldAbove, Math.ceil(counts[0] / foldAbove), 1];
  }
  return counts;
}
