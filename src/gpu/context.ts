/**
 * GpuContext: one device, its kernels, its tensors.
 *
 * - `compile` turns a kernel declaration into a cached pipeline (keyed by the final WGSL text and
 *   the override constants); compilation errors name the kernel and carry line:column messages.
 * - `bind` (on a compiled kernel) checks the tensors against the declaration and creates the bind
 *   group and the uniform buffer once; a training step replays the bound kernels.
 * - Device loss and uncaptured errors are recorded and thrown from the next `read`/`sync`, and
 *   reported to `onError` (stderr by default) the moment they happen. A loss is a typed
 *   `DeviceLostError` (unless this context's own `destroy()` ended the device); a rejected GPU
 *   promise becomes a `GpuError` that says what was being done.
 */
import {
  MAX_UNIFORM_BYTES,
  WORKGROUP_CONSTANTS,
  accessIn,
  bindingPresent,
  elementsPerRead,
  withImpliedVariants,
  packParams,
  type Access,
  workgroupCounts,
  type BindingsSpec,
  type ElementType,
  type KernelDef,
  type ParamSpec,
  type ParamValues,
  type TensorBindings,
} from './kernel.js';
import { Tensor, shapeLength, typedArrayFor, type TypedArrayFor } from './tensor.js';
import { DeviceLostError, GpuError, KernelCompileError, formatCompilationMessages, gpuFailure } from './errors.js';

export interface AdapterDescription {
  /** A one-line description of the adapter: vendor, architecture, driver. */
  readonly summary: string;
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for CPU (software) adapters such as SwiftShader and llvmpipe. */
  readonly software: boolean;
  readonly features: readonly string[];
  /**
   * The subgroup size where the device has the 'subgroups' feature and the adapter runs one size
   * only (subgroupMinSize = subgroupMaxSize: lavapipe's 8, its SIMD width); else undefined.
   */
  readonly subgroupSize?: number;
}

export interface GpuContextOptions {
  /** Called when the device reports an uncaptured error or is lost (default: print to stderr). */
  readonly onError?: (error: GpuError) => void;
  /**
   * Whether the device zero-fills each new buffer before its first use (default true: WebGPU
   * promises it, and a browser keeps the promise with lazy clears). `createNodeContext` turns
   * Dawn's lazy clears off and passes false (unless asked for `driverClears`; see `tensor`'s
   * `empty`): then `tensor` clears what it promises as zeros itself, and an `empty` tensor holds
   * what the driver's memory held.
   */
  readonly zeroedBuffers?: boolean;
  /**
   * Fill each `empty` tensor with NaN bits (0xffffffff) when it is made: the tests' check that
   * nothing reads an `empty` tensor before writing it.
   */
  readonly poisonEmpty?: boolean;
}

export class GpuContext {
  private readonly kernelCache = new Map<string, Promise<unknown>>();
  /**
   * Every pipeline this context created, in order of completion: the kernel and the wall time
   * from its shader module to its pipeline (Tint's translation and validation, and a driver that
   * compiles at creation, as NVIDIA's does; lavapipe compiles at the first dispatch instead).
   * Creations overlap (Dawn creates pipelines on several threads), so their sum is CPU-like time.
   */
  readonly pipelineTimes: { readonly kernel: string; readonly ms: number }[] = [];
  private readonly failures: GpuError[] = [];
  /** Set when the device is gone; `byUs` when this context's `destroy()` ended it. */
  private lostInfo?: { reason: string; message: string; byUs: boolean };
  private destroying = false;
  private readonly zeroedBuffers: boolean;
  private readonly poisonEmpty: boolean;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    options: GpuContextOptions = {},
  ) {
    // A loss is said as it happens, without the advice its error carries for a run that ends on it:
    // a recovery (fitWithRecovery) may go on at once.
    const report = options.onError ?? ((e: GpuError) => console.error(e instanceof DeviceLostError ? e.summary : e.message));
    this.zeroedBuffers = options.zeroedBuffers ?? true;
    this.poisonEmpty = options.poisonEmpty ?? false;
    device.addEventListener('uncapturederror', (event) => {
      const error = new GpuError(`uncaptured WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
      this.failures.push(error);
      report(error);
    });
    void device.lost.then((info) => {
      this.lostInfo = { reason: info.reason, message: info.message, byUs: this.destroying };
      if (this.destroying) return;
      const error = new DeviceLostError(info.reason, info.message);
      this.failures.push(error);
      report(error);
    });
  }

  /** Whether the device is gone (lost, or destroyed by anyone). */
  get isLost(): boolean {
    return this.lostInfo !== undefined;
  }

  /** Throws the first recorded device error, if any. */
  throwIfFailed(): void {
    this.throwIfLost();
    const first = this.failures[0];
    if (first) throw first;
  }

  /** Waits briefly for `device.lost` to settle (a failed mapping can arrive before it). */
  private async settleLoss(ms = 200): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.device.lost.then(() => Promise.resolve()), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    await Promise.resolve();
  }

  /** Throws a `DeviceLostError` (a `GpuError` when this context destroyed it) if the device is gone. */
  throwIfLost(): void {
    const info = this.lostInfo;
    if (!info) return;
    if (info.byUs) throw new GpuError('this GPU context was destroyed; create another');
    throw new DeviceLostError(info.reason, info.message);
  }

  private scopes: Tensor<ElementType>[][] = [];

  /**
   * Runs `build` (synchronously) and returns its value with `destroy()`, which frees every tensor
   * `build` created: for parts made and thrown away together, such as a model and its batch buffers.
   * Scopes nest: a tensor belongs to every scope open when it is created.
   */
  scoped<T>(build: () => T): { value: T; tensors: readonly Tensor<ElementType>[]; destroy(): void } {
    const created: Tensor<ElementType>[] = [];
    this.scopes.push(created);
    try {
      return { value: build(), tensors: created, destroy: () => created.forEach((t) => t.buffer.destroy()) };
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * Creates a tensor, zero-filled or holding `data`; with `empty`, holding whatever the memory
   * held (PyTorch's `torch.empty`), for tensors that every use writes before it reads: a
   * network's activations and gradient slots. Where the device clears new buffers itself (a
   * browser), `empty` changes nothing; in Node, where Dawn's lazy clears are off, it spares the
   * first step a clear of each such buffer (at batch 1024, 455 MB cleared by one thread).
   */
  tensor<E extends ElementType = 'f32'>(
    label: string,
    shape: readonly number[],
    options: { dtype?: E; data?: ArrayLike<number>; uniform?: boolean; empty?: boolean } = {},
  ): Tensor<E> {
    const dtype = (options.dtype ?? 'f32') as E;
    const length = shapeLength(shape);
    const uniform = options.uniform === true;
    // A uniform binding covers whole vec4s: round the buffer up to 16 bytes.
    const size = uniform ? Math.max(16, Math.ceil(length / 4) * 16) : Math.max(4, length * 4);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | (uniform ? GPUBufferUsage.UNIFORM : 0);
    const buffer = this.device.createBuffer({ label, size, usage });
    const tensor = new Tensor(buffer, shape, dtype, label, uniform);
    // Every open scope owns it: an inner scope (a layer's own tensors, counted) inside an outer one
    // (a page session, freed together) must not hide it from the outer one.
    for (const scope of this.scopes) scope.push(tensor as Tensor<ElementType>);
    if (options.empty && this.poisonEmpty) this.fillBytes(buffer, size, 0xff);
    else if (!options.empty && !this.zeroedBuffers && (options.data?.length ?? 0) * 4 < size) this.fillBytes(buffer, size, 0);
    if (options.data) this.write(tensor, options.data);
    return tensor;
  }

  private readonly byteChunks = new Map<number, ArrayBuffer>();

  /**
   * Sets every byte of a new buffer to `byte`, in the queue's order (before any later write or
   * submission), 1 MiB a write.
   */
  private fillBytes(buffer: GPUBuffer, size: number, byte: number): void {
    let chunk = this.byteChunks.get(byte);
    if (!chunk) this.byteChunks.set(byte, (chunk = new Uint8Array(1 << 20).fill(byte).buffer));
    for (let at = 0; at < size; at += chunk.byteLength) this.device.queue.writeBuffer(buffer, at, chunk, 0, Math.min(chunk.byteLength, size - at));
  }

  /** Uploads `data` into `tensor` (whole tensor, or from element `offset`). */
  write<E extends ElementType>(tensor: Tensor<E>, data: ArrayLike<number>, offset = 0): void {
    if (offset + data.length > tensor.length) {
      throw new Error(`write to ${tensor}: ${data.length} values at offset ${offset} do not fit ${tensor.length} elements`);
    }
    const typed = typedArrayFor(tensor.dtype, data);
    this.device.queue.writeBuffer(tensor.buffer, (tensor.byteOffset ?? 0) + offset * 4, typed.buffer, typed.byteOffset, typed.byteLength);
  }

  /** Fills a tensor with one value (NaN poisons an output before a test dispatch). */
  fill<E extends ElementType>(tensor: Tensor<E>, value: number): void {
    this.write(tensor, new Array<number>(tensor.length).fill(value));
  }

  /** Reads a tensor back (waits for all submitted work). */
  async read<E extends ElementType>(tensor: Tensor<E>): Promise<TypedArrayFor<E>> {
    const [values] = await this.readMany([tensor as Tensor<ElementType>], tensor.label);
    return values as TypedArrayFor<E>;
  }

  /**
   * Reads several tensors back with one copy and one mapping (a snapshot of a model's state):
   * the values in the order given.
   */
  async readMany(tensors: readonly Tensor<ElementType>[], what = `${tensors.length} tensors`): Promise<TypedArrayFor<ElementType>[]> {
    const offsets: number[] = [];
    let size = 0;
    for (const t of tensors) {
      offsets.push(size);
      size += Math.ceil(Math.max(4, t.byteLength) / 4) * 4;
    }
    const staging = this.device.createBuffer({ label: `read-back of ${what}`, size: Math.max(4, size), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = this.device.createCommandEncoder({ label: `read ${what}` });
      tensors.forEach((t, k) => encoder.copyBufferToBuffer(t.buffer, t.byteOffset ?? 0, staging, offsets[k]!, Math.max(4, t.byteLength)));
      this.device.queue.submit([encoder.finish()]);
      try {
        await staging.mapAsync(GPUMapMode.READ);
      } catch (cause) {
        // A lost device rejects every mapping (Dawn: an AbortError with no message): say so.
        await this.settleLoss();
        this.throwIfLost();
        throw gpuFailure(cause, `reading ${what} back from the GPU`);
      }
      const range = staging.getMappedRange();
      const values = tensors.map((t, k) => typedArrayFor(t.dtype, range.slice(offsets[k]!, offsets[k]! + t.byteLength)));
      staging.unmap();
      this.throwIfFailed();
      return values;
    } finally {
      staging.destroy();
    }
  }

  /** Waits until the GPU has finished all submitted work, then reports any device error. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  /**
   * Resolves when the GPU has finished the work submitted so far (without checking for errors).
   * Callers may await it later (the trainer keeps a step in flight): a rejection before then (a lost
   * device) is handled here too, so it is not reported as unhandled; the caller still sees it.
   */
  submitted(): Promise<void> {
    const done = this.device.queue.onSubmittedWorkDone();
    done.catch(() => undefined);
    return done;
  }

  /** Records commands with `record` into one command buffer and submits it. */
  submit(label: string, record: (encoder: GPUCommandEncoder) => void): void {
    const encoder = this.device.createCommandEncoder({ label });
    record(encoder);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Compiles (once per device, variant and workgroup size) a declared kernel. */
  compile<P extends ParamSpec, B extends BindingsSpec, D extends string>(
    def: KernelDef<P, B, D>,
    asked: Partial<Record<D, boolean>> = {},
  ): Promise<CompiledKernel<P, B>> {
    const defines = withImpliedVariants(def, asked) as Partial<Record<D, boolean>>;
    for (const [variant, feature] of Object.entries(def.variantFeatures ?? {}) as [string, GPUFeatureName][]) {
      if ((defines as Record<string, boolean | undefined>)[variant] && !this.device.features.has(feature)) {
        return Promise.reject(new Error(`kernel ${def.name}: variant ${variant} needs the device feature '${feature}', which this device lacks (adapter: ${this.adapter.summary})`));
      }
    }
    const source = def.sourceFor(defines);
    const key = `${def.name}\n${def.workgroupSize.join(',')}\n${source}`;
    let compiled = this.kernelCache.get(key);
    if (!compiled) {
      compiled = CompiledKernel.create(this, def, source, defines as Readonly<Record<string, boolean>>);
      this.kernelCache.set(key, compiled);
      compiled.catch(() => this.kernelCache.delete(key));
    }
    return compiled as Promise<CompiledKernel<P, B>>;
  }

  destroy(): void {
    this.destroying = true;
    this.device.destroy();
  }
}

export class CompiledKernel<P extends ParamSpec, B extends BindingsSpec> {
  private constructor(
    readonly context: GpuContext,
    readonly def: KernelDef<P, B, string>,
    readonly layout: GPUBindGroupLayout,
    readonly pipeline: GPUComputePipeline,
    /** The variant compiled (`#if` defines set). */
    readonly defines: Readonly<Record<string, boolean>>,
  ) {}

  static async create<P extends ParamSpec, B extends BindingsSpec>(
    context: GpuContext,
    def: KernelDef<P, B, string>,
    source: string,
    defines: Readonly<Record<string, boolean>> = {},
  ): Promise<CompiledKernel<P, B>> {
    const { device } = context;
    const label = def.name;
    const started = performance.now();
    // On a lost device everything "succeeds" into invalid objects: say so instead.
    context.throwIfLost();
    // Push, create and pop without an await between them: error scopes are a stack shared by
    // every compilation in flight.
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label, code: source });
    const scope = device.popErrorScope();
    const [info, moduleError] = await Promise.all([module.getCompilationInfo(), scope]);
    const messages = info.messages.filter((m) => m.type === 'error');
    if (messages.length > 0 || moduleError) {
      throw new KernelCompileError(def.name, formatCompilationMessages(def.name, source, info.messages, moduleError?.message));
    }
    const layout = device.createBindGroupLayout({
      label,
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
        ...def.bindingNames.flatMap((name, i) =>
          bindingPresent(def.bindings[name]!, defines)
            ? [{ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: bufferBindingType(accessIn(def.bindings[name]!, defines)) } }]
            : [],
        ),
      ],
    });
    const constants: Record<string, number> = {};
    def.workgroupSize.forEach((n, d) => (constants[WORKGROUP_CONSTANTS[d]!] = n));
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({
        label,
        layout: device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: def.name, constants },
      });
    } catch (e) {
      // A device lost meanwhile fails every pipeline: that is the error to report.
      context.throwIfLost();
      throw new KernelCompileError(def.name, `kernel ${def.name}: pipeline creation failed: ${(e as Error).message}`);
    }
    context.throwIfLost();
    context.pipelineTimes.push({ kernel: def.name, ms: performance.now() - started });
    return new CompiledKernel(context, def, layout, pipeline, defines);
  }

  /**
   * Binds tensors and parameters once: checks every tensor against the declaration (name, element
   * type, length for these parameters, no aliasing of a written binding) and creates the uniform
   * buffer and the bind group. A tensor may be longer than the parameters need: a network's
   * buffers are sized for its largest batch, and the last, smaller batch of an epoch uses their
   * first elements.
   */
  bind(tensors: TensorBindings<B>, params: ParamValues<P>, label = this.def.name): BoundKernel<P> {
    const def = this.def;
    const lengths = def.lengths(params);
    const seen: { tensor: Tensor<ElementType>; start: number; end: number; name: string }[] = [];
    const all = tensors as Readonly<Record<string, Tensor<ElementType> | undefined>>;
    for (const name of def.bindingNames) {
      const tensor = all[name];
      const spec = def.bindings[name]!;
      if (!bindingPresent(spec, this.defines)) {
        if (tensor !== undefined) {
          const why = spec.unless !== undefined && this.defines[spec.unless] ? `is left out in variant ${spec.unless}, which this kernel was compiled with` : `exists only in variant ${spec.only}, which this kernel was not compiled with`;
          throw new Error(`${label}: binding '${name}' ${why}`);
        }
        continue;
      }
      if (!(tensor instanceof Tensor)) {
        throw new Error(`${label}: binding '${name}' is missing (expected a ${spec.type} tensor)`);
      }
      if (tensor.dtype !== spec.type) {
        throw new Error(`${label}: binding '${name}' expects ${spec.type}, got ${tensor}`);
      }
      const expected = lengths[name];
      if (tensor.length < expected) {
        throw new Error(`${label}: binding '${name}' needs at least ${expected} elements for these parameters, got ${tensor}`);
      }
      const perRead = elementsPerRead(spec, this.defines);
      if (perRead > 1 && expected % perRead !== 0) {
        const variant = perRead === 4 ? spec.vec4 : spec.vec2;
        throw new Error(`${label}: binding '${name}' is read as vec${perRead}s in variant ${variant}, which needs a multiple of ${perRead} elements for these parameters, got ${expected}: bind the variant without ${variant}`);
      }
      if (spec.access === 'uniform') {
        if (!tensor.uniform) throw new Error(`${label}: binding '${name}' is a uniform buffer; create ${tensor} with { uniform: true }`);
        if (tensor.byteLength > MAX_UNIFORM_BYTES) throw new Error(`${label}: binding '${name}' is a uniform buffer of at most ${MAX_UNIFORM_BYTES} bytes, got ${tensor} (${tensor.byteLength} bytes)`);
      }
      // Two bindings of one buffer may not overlap where one is written (an arena's members
      // share a buffer and do not overlap).
      const [start, end] = tensor.bindingRange;
      const other = seen.find((o) => o.tensor.buffer === tensor.buffer && o.start < end && start < o.end);
      if (other !== undefined && (accessIn(spec, this.defines) === 'read_write' || accessIn(def.bindings[other.name]!, this.defines) === 'read_write')) {
        const what = other.tensor === tensor ? `are the same tensor ${tensor}` : `overlap in one buffer (${other.tensor} and ${tensor})`;
        throw new Error(`${label}: bindings '${other.name}' and '${name}' ${what}, and one is written`);
      }
      seen.push({ tensor, start, end, name });
    }
    for (const [variant, requires] of Object.entries(def.variantRequires ?? {}) as [string, ((p: ParamValues<P>) => string | undefined) | undefined][]) {
      const why = this.defines[variant] ? requires?.(params) : undefined;
      if (why !== undefined) throw new Error(`${label}: variant ${variant} cannot run these parameters: ${why}; bind the variant without ${variant}`);
    }
    const extra = Object.keys(tensors).filter((k) => !(k in def.bindings));
    if (extra.length > 0) throw new Error(`${label}: unknown binding(s) ${extra.join(', ')}`);

    const { device } = this.context;
    const uniform = device.createBuffer({
      label: `${label} params`,
      size: def.uniformSize,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const bindGroup = device.createBindGroup({
      label,
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: uniform } },
        ...def.bindingNames.flatMap((name, i) => (bindingPresent(def.bindings[name]!, this.defines) ? [{ binding: i + 1, resource: all[name]!.binding }] : [])),
      ],
    });
    return new BoundKernel(this.context.device, def, this.pipeline, label, uniform, bindGroup, params, this.defines);
  }
}

function bufferBindingType(access: Access): GPUBufferBindingType {
  return access === 'read' ? 'read-only-storage' : access === 'uniform' ? 'uniform' : 'storage';
}

/** Anything that records dispatches into a compute pass. */
export interface Dispatch {
  readonly label: string;
  /** Bytes of the bound tensors the dispatch needs, each counted once (for GB/s figures). */
  readonly bytes?: number;
  record(pass: GPUComputePassEncoder): void;
  /** Frees what binding created (a bound kernel's parameter buffer); the dispatch is not used after. */
  destroy?(): void;
}

/** A kernel bound to its tensors and parameters: record it into a pass as often as needed. */
export class BoundKernel<P extends ParamSpec> implements Dispatch {
  private current: ParamValues<P>;
  private counts: [number, number, number];
  private readonly owned: Tensor<ElementType>[] = [];

  constructor(
    private readonly device: GPUDevice,
    readonly def: KernelDef<P, BindingsSpec, string>,
    private readonly pipeline: GPUComputePipeline,
    readonly label: string,
    private readonly uniform: GPUBuffer,
    private readonly bindGroup: GPUBindGroup,
    params: ParamValues<P>,
    /** The variant bound (its `#if` defines). */
    private readonly defines: Readonly<Record<string, boolean>> = {},
  ) {
    this.current = params;
    this.counts = this.setParams(params);
  }

  get params(): ParamValues<P> {
    return this.current;
  }

  /** Frees the parameter buffer binding created, and what it owns (for kernels bound, used and thrown away: the tuner's). */
  destroy(): void {
    this.uniform.destroy();
    for (const t of this.owned) t.buffer.destroy();
  }

  /** Makes `tensors` (made for this dispatch alone: a packing or reduction map) freed with it by destroy(); returns the dispatch. */
  owning(...tensors: Tensor<ElementType>[]): this {
    this.owned.push(...tensors);
    return this;
  }

  get workgroups(): readonly [number, number, number] {
    return this.counts;
  }

  /**
   * The bytes of every bound tensor that these parameters need, each counted once: the least
   * memory traffic of one dispatch (a kernel may read an element more than once, or read and
   * write it).
   */
  get bytes(): number {
    const lengths = this.def.lengths(this.current);
    return this.def.bindingNames.reduce((sum, name) => sum + (bindingPresent(this.def.bindings[name]!, this.defines) ? (lengths[name] ?? 0) * 4 : 0), 0);
  }

  /**
   * Changes parameters that do not change binding sizes (a learning rate, a step seed).
   * Writes the uniform buffer; call between steps, not inside a hot loop.
   */
  update(changes: Partial<ParamValues<P>>): void {
    const next = { ...this.current, ...changes };
    const lengths = this.def.lengths(next);
    const before = this.def.lengths(this.current);
    for (const name of this.def.bindingNames) {
      if (lengths[name] !== before[name]) {
        throw new Error(`${this.label}: changing parameters would change the size of binding '${name}'; bind again instead`);
      }
    }
    this.counts = this.setParams(next);
  }

  private setParams(params: ParamValues<P>): [number, number, number] {
    const def = this.def;
    this.device.queue.writeBuffer(this.uniform, 0, packParams(def, params));
    this.current = params;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    const counts = workgroupCounts(def.grid(params, def.workgroupSize), def.workgroupSize, def.linear ? max : undefined);
    if (counts.some((c) => c > max)) {
      throw new Error(`${this.label}: dispatch of ${counts.join('×')} workgroups exceeds the device limit of ${max} per dimension`);
    }
    return counts;
  }

  /** Records this dispatch into a compute pass. */
  record(pass: GPUComputePassEncoder): void {
    if (this.counts.some((c) => c === 0)) return;
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.counts[0], this.counts[1], this.counts[2]);
  }
}

/**
 * Records a copy of `elements` elements of `from` (from its first) into `to` from element `at`, or
 * into a plain buffer (a staging buffer) from byte `at`·4. Each tensor's own range of its buffer:
 * an arena member's copy starts where the member does.
 */
export function copyTensor(encoder: GPUCommandEncoder, from: Tensor<ElementType>, to: Tensor<ElementType> | GPUBuffer, at = 0, elements = from.length): void {
  const toLength = to instanceof Tensor ? to.length : to.size / 4;
  if (elements > from.length || at + elements > toLength) {
    throw new Error(`copy of ${elements} elements of ${from} to element ${at} of ${to instanceof Tensor ? to : to.label}: out of range (${from.length} and ${toLength} elements)`);
  }
  const [buffer, offset] = to instanceof Tensor ? [to.buffer, to.byteOffset ?? 0] : [to, 0];
  encoder.copyBufferToBuffer(from.buffer, from.byteOffset ?? 0, buffer, offset + at * 4, elements * 4);
}

/** Records bound kernels, in order, into one compute pass of `encoder`. */
export function recordPass(encoder: GPUCommandEncoder, label: string, kernels: readonly Dispatch[]): void {
  const pass = encoder.beginComputePass({ label });
  for (const k of kernels) k.record(pass);
  pass.end();
}
