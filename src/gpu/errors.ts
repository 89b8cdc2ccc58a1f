/** Errors raised by the GPU runtime: they name the kernel and say what to do. */

export class GpuError extends Error {
  override name = 'GpuError';
}

export class KernelCompileError extends GpuError {
  override name = 'KernelCompileError';
  constructor(
    readonly kernel: string,
    message: string,
  ) {
    super(message);
  }
}

export class NoAdapterError extends GpuError {
  override name = 'NoAdapterError';
}

/**
 * The device is gone: the driver reset, the GPU was removed, the browser reclaimed it, or someone
 * called `destroy()`. Work submitted since is lost; a new device must be created and the state
 * restored (the training loop's recovery does so from its last snapshot).
 */
export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
  /** What happened, without the advice (said as it happens, when a recovery may follow). */
  readonly summary: string;
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    const summary = `the WebGPU device was lost (${reason}${detail ? `: ${detail}` : ''})`;
    super(`${summary}; the work since the last snapshot is gone. ` +
      'Run again (a training run started with --save FILE continues with --init FILE); if it keeps happening, check the driver (WEBGPU_BACKPROP_ADAPTER picks another one)');
    this.summary = summary;
  }
}

/**
 * Any other rejected GPU operation (a read-back whose mapping failed, a pipeline the driver
 * refused), with what was being done. `cause` holds the original (often a DOMException with an
 * empty message).
 */
export class GpuOperationError extends GpuError {
  override name = 'GpuOperationError';
}

/** Turns whatever a GPU promise rejected with into a GpuError that says what was being done. */
export function gpuFailure(cause: unknown, doing: string): GpuError {
  if (cause instanceof GpuError) return cause;
  const e = cause as { name?: string; message?: string } | undefined;
  const what = [e?.name, e?.message].filter(Boolean).join(': ') || String(cause);
  return new GpuOperationError(`${doing} failed (${what}); run again, and if it keeps failing, see the driver's messages (--verbose)`, { cause });
}

/**
 * Formats compiler messages as `kernel.wgsl:line:col: error: text`, each followed by the source
 * line it points at, so that a failure reads like a compiler's output.
 */
export function formatCompilationMessages(
  kernel: string,
  source: string,
  messages: readonly GPUCompilationMessage[],
  fallback?: string,
): string {
  const lines = source.split('\n');
  const parts = messages.map((m) => {
    const where = `${kernel}.wgsl:${m.lineNum}:${m.linePos}`;
    const text = lines[m.lineNum - 1];
    return `${where}: ${m.type}: ${m.message}${text !== undefined ? `\n    ${text.trim()}` : ''}`;
  });
  if (parts.length === 0 && fallback) {
    // Dawn's scope message reads ":line:col error: …"; give it the file name.
    parts.push(fallback.replace(/(^|\s):(\d+):(\d+)/g, `$1${kernel}.wgsl:$2:$3`));
  }
  return `kernel ${kernel} failed to compile:\n${parts.join('\n')}`;
}
