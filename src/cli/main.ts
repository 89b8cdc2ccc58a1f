/**
 * The `webgpu-backprop` command: one sub-command per workload.
 */
import type { GpuContext } from '../gpu/context.js';
import { createNodeContext } from '../node/device.js';
import { TWO_TWO_TWO_HELP, twoTwoTwoCommand } from './two-two-two.js';

export const MAIN_HELP = `Usage: webgpu-backprop <command> [options]

A WebGPU training engine (Node: Dawn; without a GPU it finds a software Vulkan adapter).

Commands:
  222       the spreadsheet's 2-2-2 back-propagation example (default)
  help      this help; 'webgpu-backprop <command> --help' for a command's options

Environment:
  WEBGPU_BACKPROP_ADAPTER   system | lavapipe | swiftshader | path to a Vulkan ICD manifest
`;

export async function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const [command = '222', ...rest] = argv;
  let context: GpuContext | undefined;
  const getContext = async () => (context ??= await createNodeContext());
  try {
    switch (command) {
      case '222':
        return await twoTwoTwoCommand(rest, getContext, out);
      case 'help':
      case '--help':
      case '-h':
        out(MAIN_HELP);
        return 0;
      default:
        if (command.startsWith('-')) return await twoTwoTwoCommand(argv, getContext, out);
        process.stderr.write(`webgpu-backprop: unknown command '${command}'\n\n${MAIN_HELP}`);
        return 2;
    }
  } catch (error) {
    process.stderr.write(`webgpu-backprop: ${(error as Error).message}\n`);
    return 1;
  } finally {
    context?.destroy();
  }
}

export { TWO_TWO_TWO_HELP };
