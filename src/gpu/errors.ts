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
