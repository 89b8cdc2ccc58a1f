/**
 * Sequential (PyTorch's nn.Sequential): children run in order and give the state_dict names,
 * `prefix + child name + '.'`. Children are indexed (`new Sequential(a, b)` → `0.weight`) or named
 * (`new Sequential({ convblock1: …, pool1: … })` → `convblock1.0.weight`), as an nn.Module's
 * attributes or an OrderedDict name them.
 */
import { Layer } from './layer.js';

export type Module = Layer | Sequential;

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
    const named = children.length === 1 && first !== undefined && !(first instanceof Layer) && !(first instanceof Sequential);
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
      if (!(module instanceof Layer) && !(module instanceof Sequential)) throw new TypeError(`Sequential: child '${name}' is not a layer or a Sequential`);
      seen.add(name);
    }
    return entries;
  }
}

/** A leaf layer with its dotted path (`convblock1.0`) and the path of its top-level child. */
export interface LayerEntry {
  readonly path: string;
  readonly layer: Layer;
  /** Index of the model's top-level child that holds it. */
  readonly topIndex: number;
}

/** The leaf layers in execution order. */
export function leafLayers(model: Module): LayerEntry[] {
  if (model instanceof Layer) return [{ path: '0', layer: model, topIndex: 0 }];
  const out: LayerEntry[] = [];
  const walk = (m: Sequential, prefix: string, top: number | undefined) => {
    m.children.forEach(([name, child], i) => {
      const path = prefix ? `${prefix}.${name}` : name;
      const topIndex = top ?? i;
      if (child instanceof Sequential) walk(child, path, topIndex);
      else out.push({ path, layer: child, topIndex });
    });
  };
  walk(model, '', undefined);
  return out;
}
