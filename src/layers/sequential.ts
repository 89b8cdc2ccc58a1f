/**
 * Sequential (PyTorch's nn.Sequential): children run in order and give the state_dict names,
 * `prefix + child name + '.'`. Children are indexed (`new Sequential(a, b)` → `0.weight`) or named
 * (`new Sequential({ convblock1: …, pool1: … })` → `convblock1.0.weight`), as an nn.Module's
 * attributes or an OrderedDict name them.
 */
import { Conv2d } from './conv2d.js';
import { Conv1d } from './one-d.js';
import { Layer, checkOptions } from './layer.js';
import { ResidualAdd, ResidualInput } from './residual.js';

export type Module = Layer | Sequential | Residual;

/** A module given where a child goes: a layer or a container. */
const isModule = (m: unknown): m is Module => m instanceof Layer || m instanceof Sequential || m instanceof Residual;

export class Sequential {
  readonly type = 'Sequential';
  readonly children: readonly (readonly [string, Module])[];

  /**
   * `new Sequential(a, b, c)`: children 0, 1, 2. `new Sequential({ conv: a, pool: b })`: named
   * children in the object's order (names that look like integers come first in a JavaScript
   * object: use `Sequential.fromEntries` to mix them).
   */
  constructor(...children: Module[] | [Readonly<Record<string, Module>>]) {
    const first = children[0];
    const named = children.length === 1 && first !== undefined && !isModule(first);
    if (named) Sequential.checkObjectOrder(Object.keys(first as object));
    this.children = Sequential.check(named ? Object.entries(first as Record<string, Module>) : (children as Module[]).map((m, i) => [String(i), m] as const));
  }

  /**
   * An object's integer-like keys come first whatever the order written (`{ fc: a, 1: b }` is
   * `{ 1: b, fc: a }`): mixed with other names, the children would run in another order than
   * written, silently. PyTorch's OrderedDict keeps the order: refused, pointing to fromEntries.
   */
  private static checkObjectOrder(keys: readonly string[]): void {
    const integerLike = keys.filter((k) => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 2 ** 32 - 1);
    const other = keys.find((k) => !integerLike.includes(k));
    if (integerLike.length > 0 && other !== undefined) {
      throw new RangeError(
        `Sequential: children named '${integerLike[0]}' and '${other}' in one object: JavaScript puts integer-like names first, so they would run in another order than written; ` +
          `give them in order with Sequential.fromEntries([['${other}', …], ['${integerLike[0]}', …]]) (an OrderedDict)`,
      );
    }
  }

  /** A Sequential from (name, module) pairs in order: an OrderedDict. */
  static fromEntries(entries: readonly (readonly [string, Module])[]): Sequential {
    const s = new Sequential();
    (s as { children: readonly (readonly [string, Module])[] }).children = Sequential.check(entries);
    return s;
  }

  private static check(entries: readonly (readonly [string, Module])[]): readonly (readonly [string, Module])[] {
    const seen = new Set<string>();
    for (const [name, module] of entries) {
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new RangeError(`Sequential: child name ${JSON.stringify(name)} must be letters, digits or '_' (it becomes part of state_dict names)`);
      if (seen.has(name)) throw new RangeError(`Sequential: two children are named '${name}'`);
      if (!isModule(module)) throw new TypeError(`Sequential: child '${name}' is not a layer, a Sequential or a Residual`);
      seen.add(name);
    }
    return entries;
  }
}

/**
 * A residual block, `body(x) + shortcut(x)` (the shortcut the identity unless given), then its
 * `activation` if any: ResNet's BasicBlock is `new Residual(new Sequential({ conv1, bn1, relu,
 * conv2, bn2 }), { downsample: new Sequential(conv1x1, bn) }, { activation: new ReLU() })`. PyTorch has no such class (a block is a
 * Module with its own forward); the state_dict names are those of such a Module: the body's
 * children are the block's own and the shortcut is one more child under its name
 * (`layer1.0.conv1.weight`, `layer1.0.downsample.0.weight`, as torchvision's). The two outputs must
 * have one shape (a ShapeError says which, before anything touches the GPU).
 */
export class Residual {
  readonly type = 'Residual';
  /** The body's children, which are the block's own. */
  readonly children: readonly (readonly [string, Module])[];
  /** The shortcut and its name; undefined: the identity. */
  readonly shortcut?: readonly [string, Module];
  /**
   * A layer applied to the sum, inside the block: torchvision's `out = self.relu(out + identity)`
   * (`{ activation: new ReLU() }`), so that a stage of blocks names them 0, 1, … as torchvision's
   * (a ReLU after the block instead takes an index of its own). No tensors of its own: none in the
   * state_dict; the summary shows it after the block's sum.
   */
  readonly activation?: Layer;
  /**
   * Whether the body's children are named as the block's parent's children (no name of the block's
   * own in their state_dict names): PyTorch's TransformerEncoderLayer, whose _sa_block and _ff_block
   * are methods, not modules (src/layers/transformer.ts). False for a block made with `new Residual`.
   */
  readonly inline: boolean = false;
  /** The block's two ends in the plan's chain (src/layers/residual.ts), made once: one block, one pair. */
  readonly ends = { input: new ResidualInput(), add: new ResidualAdd() };

  /**
   * `body`: a Sequential (its children become the block's: `conv1`, `bn1`, …; `0`, `1`, … where
   * indexed), an object of named children (`{ conv1: …, bn1: … }`, as Sequential takes it), or one
   * module (child `0`). `shortcut`: one named module (`{ downsample: new Sequential(…) }`), or a
   * module, named `shortcut`.
   */
  constructor(body: Module | Readonly<Record<string, Module>>, shortcut?: Module | Readonly<Record<string, Module>>, options: { readonly activation?: Layer } = {}) {
    checkOptions('Residual', options, ['activation']);
    if (options.activation !== undefined && !(options.activation instanceof Layer)) throw new TypeError(`Residual: activation must be a layer such as new ReLU(), got ${JSON.stringify(options.activation)}`);
    this.activation = options.activation;
    if (body === undefined || body === null || typeof body !== 'object') throw new TypeError(`Residual: the body must be a Sequential, an object of named modules or a module, got ${JSON.stringify(body)}`);
    const children = body instanceof Sequential ? body.children : isModule(body) ? [['0', body] as const] : new Sequential(body).children;
    if (children.length === 0) throw new RangeError('Residual: the body has no layers (a block that adds its input to itself is 2·x: give the body its layers)');
    let named: readonly [string, Module] | undefined;
    if (shortcut !== undefined) {
      if (shortcut === null || typeof shortcut !== 'object') throw new TypeError(`Residual: the shortcut must be a module or one named module ({ downsample: … }), got ${JSON.stringify(shortcut)}`);
      if (isModule(shortcut)) named = ['shortcut', shortcut];
      else {
        const entries = Object.entries(shortcut);
        if (entries.length !== 1) throw new RangeError(`Residual: the shortcut must be one named module ({ downsample: … }), got ${entries.length} entries (${entries.map(([k]) => k).join(', ') || 'none'}); a shortcut of several layers is a Sequential`);
        named = entries[0]!;
      }
    }
    if (named && children.some(([name]) => name === named![0])) {
      throw new RangeError(`Residual: the shortcut is named '${named[0]}', as a child of the body is (both would be '${named[0]}.…' in the state_dict); name the shortcut otherwise`);
    }
    const all = Sequential.fromEntries(named ? [...children, named] : children).children;
    this.children = all.slice(0, children.length);
    this.shortcut = named ? all[children.length] : undefined;
  }
}

/** A leaf layer with its dotted path (`convblock1.0`) and the path of its top-level child. */
export interface LayerEntry {
  readonly path: string;
  readonly layer: Layer;
  /** Index of the model's top-level child that holds it. */
  readonly topIndex: number;
}

/**
 * A residual block in the leaf list: the indices of its input node, its body's last leaf, its
 * shortcut's first (none: the identity) and its sum, and how many blocks hold it (0: none).
 */
export interface BlockEntry {
  readonly path: string;
  readonly depth: number;
  readonly input: number;
  readonly bodyEnd: number;
  readonly shortcut?: number;
  readonly add: number;
}

/** The padding a conv runs as a node of its own before it (Conv2d's and Conv1d's `paddingLayer`), if any. */
export const paddingOf = (layer: Layer): Layer | undefined => (layer instanceof Conv2d || layer instanceof Conv1d ? layer.paddingLayer : undefined);

/**
 * The leaf layers in execution order; a residual block's two ends among them (src/layers/residual.ts:
 * `<block>:input`, a ResidualInput, and `<block>`, its sum, of type 'Residual'), and before a Conv2d
 * with a padding_mode other than 'zeros' (or a Conv1d with padding) its padding (`<conv>:pad`).
 */
export function leafLayers(model: Module): LayerEntry[] {
  return flattenModel(model).leaves;
}

/**
 * The leaf layers in execution order, and the residual blocks among them: a block is its input
 * node (path `<block>:input`), its body's leaves, its shortcut's leaves, its sum (path `<block>`)
 * and its activation, if any (path `<block>:activation`). A Conv2d with a padding_mode other than
 * 'zeros' (a Conv1d: with padding where that runs it tiled) is its padding (path `<conv>:pad`) and then the conv.
 */
export function flattenModel(model: Module): { leaves: LayerEntry[]; blocks: BlockEntry[] } {
  if (model instanceof Layer) {
    const pad = paddingOf(model);
    return { leaves: [...(pad ? [{ path: '0:pad', layer: pad, topIndex: 0 }] : []), { path: '0', layer: model, topIndex: 0 }], blocks: [] };
  }
  if (model instanceof Residual) throw new TypeError('a Residual block as the whole model: put it in a Sequential (its state_dict names then start with the Sequential\'s child name)');
  const leaves: LayerEntry[] = [];
  const blocks: BlockEntry[] = [];
  const walk = (children: readonly (readonly [string, Module])[], prefix: string, top: number | undefined, depth: number) => {
    children.forEach(([name, child], i) => {
      const path = prefix ? `${prefix}.${name}` : name;
      const topIndex = top ?? i;
      if (child instanceof Sequential) walk(child.children, path, topIndex, depth);
      else if (child instanceof Residual) {
        const input = leaves.push({ path: `${path}:input`, layer: child.ends.input, topIndex }) - 1;
        walk(child.children, child.inline ? prefix : path, topIndex, depth + 1);
        const bodyEnd = leaves.length - 1;
        const shortcut = child.shortcut ? leaves.length : undefined;
        if (child.shortcut) walk([child.shortcut], path, topIndex, depth + 1);
        const add = leaves.push({ path, layer: child.ends.add, topIndex }) - 1;
        if (child.activation) leaves.push({ path: `${path}:activation`, layer: child.activation, topIndex });
        blocks.push({ path, depth, input, bodyEnd, shortcut, add });
      } else {
        // A conv's padding run before it (PyTorch's F.pad in Conv2d's forward for a padding_mode).
        const pad = paddingOf(child);
        if (pad) leaves.push({ path: `${path}:pad`, layer: pad, topIndex });
        leaves.push({ path, layer: child, topIndex });
      }
    });
  };
  walk(model.children, '', undefined, 0);
  return { leaves, blocks };
}
