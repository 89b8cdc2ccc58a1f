/**
 * The `webgpu-backprop` command: one sub-command per workload.
 */
import type { GpuContext } from '../gpu/context.js';
import { createNodeContext } from '../node/device.js';
import { DeviceLostError } from '../gpu/errors.js';
import { TWO_TWO_TWO_HELP, twoTwoTwoCommand } from './two-two-two.js';
import { checkCommand, classifyCommand, evaluateCommand, mnistCommand, tuneCommand } from './mnist.js';
import { STDERR_TTY } from '../node/noise.js';
import { predictCommand } from './predict.js';

export const MAIN_HELP = `Usage: webgpu-backprop <command> [options]

A WebGPU training engine (Node: Dawn; without a GPU it finds a software Vulkan adapter).

Commands:
  mnist     train the seed notebook's MNIST CNN (default), or a network of a model file (--model)
  check     one training step on the GPU against float64: the worst error of every tensor
  evaluate  test a saved checkpoint on the MNIST test set
  classify  classify single images with a saved checkpoint
  predict   a saved checkpoint's outputs for every sample of a data set or an .npy array, to .npy
  tune      time the conv and dense kernels' candidate tiles on this adapter and cache the fastest
  222       the spreadsheet's 2-2-2 back-propagation example
  help      this help; 'webgpu-backprop <command> --help' for a command's options

Options of every command:
  --verbose   also show Dawn's and the Vulkan drivers' start-up messages (hidden otherwise)

Environment:
  WEBGPU_BACKPROP_ADAPTER   system | lavapipe | swiftshader | path to a Vulkan ICD manifest
  WEBGPU_BACKPROP_VERBOSE   1: as --verbose
  WEBGPU_BACKPROP_TUNE      the default of --tune (off | cached | full)
  WEBGPU_BACKPROP_TUNING_CACHE  the tuning cache file (default $XDG_CACHE_HOME/webgpu-backprop/tuning.json)
  WEBGPU_BACKPROP_POLLING   timer | immediate: how Node waits for the GPU (default: timer on a
                            software adapter, to leave its cores to it; immediate on a GPU)
`;

/**
 * Where the command's output lines go: stdout, except in the CLI's filtered child when stdout and
 * the parent's stderr are both the terminal. There the stderr lines (the progress bar and its
 * line end) reach the screen through the parent's noise filter, later than anything written to
 * the inherited stdout, so stdout's lines take the same way and the screen shows them in the
 * order written. Redirected (`> file`, `| jq`), stdout stays stdout.
 */
export function commandOutput(): (s: string) => void {
  const sameTerminal = process.env[STDERR_TTY] === '1' && process.stdout.isTTY === true && process.stderr.isTTY !== true;
  return sameTerminal ? (s) => process.stderr.write(`${s}\n`) : (s) => process.stdout.write(`${s}\n`);
}

export async function main(argv: readonly string[], out: (s: string) => void = commandOutput()): Promise<number> {
  const [command = 'mnist', ...rest] = argv;
  let context: GpuContext | undefined;
  // After a lost device, a fresh one replaces the context (the old one is gone already).
  // A lost device is reported by the training loop's recovery (or its error), not twice.
  const onError = (e: Error) => e instanceof DeviceLostError || process.stderr.write(`${e.message}\n`);
  const getContext = async (options: { fresh?: boolean } = {}) => {
    if (options.fresh) context = await createNodeContext({ announce: false, onError });
    return (context ??= await createNodeContext({ onError }));
  };
  try {
    switch (command) {
      case 'mnist':
        return await mnistCommand(rest, getContext, out);
      case 'evaluate':
        return await evaluateCommand(rest, getContext, out);
      case 'classify':
        return await classifyCommand(rest, getContext, out);
      case 'check':
        return await checkCommand(rest, getContext, out);
      case 'predict':
        return await predictCommand(rest, getContext, out);
      case 'tune':
        return await tuneCommand(rest, getContext, out);
      case '222':
        return await twoTwoTwoCommand(rest, getContext, out);
      case 'help':
      case '--help':
      case '-h':
        out(MAIN_HELP);
        return 0;
      default:
        if (command.startsWith('-')) return await mnistCommand(argv, getContext, out);
        process.stderr.write(`webgpu-backprop: unknown command '${command}'\n\n${MAIN_HELP}`);
        return 2;
    }
  } catch (error) {
    // A DOMException from the GPU can carry an empty message: say at least what it was.
    const e = error as Error;
    process.stderr.write(`webgpu-backprop: ${e.message || `${e.name ?? 'error'} (no message)`}\n`);
    return 1;
  } finally {
    context?.destroy();
  }
}

export { TWO_TWO_TWO_HELP };
