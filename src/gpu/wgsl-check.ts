/**
 * Holds a kernel's WGSL against its TypeScript declaration, without a GPU.
 *
 * Checks, for the source with no variant, each variant alone and all of them:
 * - `struct Params` has exactly the declared fields, in order, with the declared scalar types, and
 *   is declared once: in the kernel's source, or in one appended library (a family's one struct,
 *   as its kernels share one declared parameter object);
 * - `@group(0) @binding(0) var<uniform> params: Params;`
 * - each declared storage binding i is `@group(0) @binding(i + 1) var<storage, ACCESS> NAME: array<TYPE>;`,
 *   `array<vec4f>` (vec4u, vec4i) in a variant that reads it as vec4s (BindingSpec.vec4), vec2s
 *   likewise (BindingSpec.vec2), each
 *   uniform one `@group(0) @binding(i + 1) var<uniform> NAME: array<vec4f, NAME_VEC4S>;`, and
 *   there are no other bindings; a binding of one variant only (BindingSpec.only) is there in
 *   that variant and absent without it (and absent in its `unless` variant); a binding written in
 *   place in a variant (BindingSpec.writtenIn) is `read_write` there;
 * - the entry point `fn NAME` is `@compute @workgroup_size(WG_X[, WG_Y[, WG_Z]])`, one override per
 *   declared dimension, each declared `override WG_?: u32;` without a default value;
 * - every `#if NAME` (in the source and the appended libraries) names a declared variant;
 * - every declared constant is `const NAME = VALUEu;` with the declared value, in the kernel's source
 *   or an appended library (the optimizer steps' shared constants: shaders/lib/optimizer_gradient.wgsl);
 * - the appended libraries declare no bindings.
 */
import type { AnyKernelDef } from './kernel.js';
import { WORKGROUP_CONSTANTS, accessIn, bindingPresent, elementsPerRead, resolveDefines, withImpliedVariants, type BindingSpec } from './kernel.js';

interface WgslBinding {
  group: number;
  binding: number;
  space: string;
  access: string;
  name: string;
  type: string;
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

export function parseBindings(source: string): WgslBinding[] {
  const re = /@group\((\d+)\)\s*@binding\((\d+)\)\s*var<\s*(\w+)\s*(?:,\s*(\w+)\s*)?>\s*(\w+)\s*:\s*([^;]+);/g;
  return [...stripComments(source).matchAll(re)].map((m) => ({
    group: Number(m[1]),
    binding: Number(m[2]),
    space: m[3]!,
    access: m[4] ?? (m[3] === 'storage' ? 'read' : ''),
    name: m[5]!,
    type: m[6]!.replace(/\s+/g, ''),
  }));
}

export function parseStruct(source: string, name: string): { name: string; type: string }[] | undefined {
  const m = new RegExp(`struct\\s+${name}\\s*\\{([^}]*)\\}`).exec(stripComments(source));
  if (!m) return undefined;
  return m[1]!
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const [field, type] = f.split(':').map((s) => s.trim());
      return { name: field!, type: type! };
    });
}

/** Every mismatch between the WGSL and the declaration, as readable lines (empty when they agree). */
export function checkKernelSource(def: AnyKernelDef, source: string = def.source): string[] {
  const problems: string[] = [];
  const where = `${def.name}.wgsl`;
  const defines: readonly string[] = def.defines ?? [];
  for (const m of [source, ...(def.libraries ?? [])].join('\n').matchAll(/#(?:if|elif)\s+(\w+)/g)) {
    if (!defines.includes(m[1]!)) problems.push(`${where}: '#if ${m[1]}' is not a declared variant (declared: ${defines.join(', ') || 'none'})`);
  }
  const withLibraries = stripComments([source, ...(def.libraries ?? [])].join('\n'));
  for (const [name, value] of Object.entries(def.constants ?? {})) {
    const m = new RegExp(`const\\s+${name}\\s*(?::\\s*u32\\s*)?=\\s*(\\d+)u?\\s*;`).exec(withLibraries);
    if (!m) problems.push(`${where}: expected 'const ${name} = ${value}u;' (declared constant)`);
    else if (Number(m[1]) !== value) problems.push(`${where}: const ${name} is ${m[1]} but the declaration says ${value}`);
  }
  for (const library of def.libraries ?? []) {
    if (parseBindings(library).length > 0) problems.push(`${where}: an appended library declares bindings; only kernels may`);
  }
  // Each variant alone (with those it implies: KernelSpec.variantImplies), and all of them.
  const variants = [{}, ...defines.map((d) => ({ [d]: true })), Object.fromEntries(defines.map((d) => [d, true]))].map((set) => withImpliedVariants(def, set));
  for (const defineSet of variants) {
    let text: string;
    try {
      text = resolveDefines(source, defineSet);
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
      continue;
    }
    const libraries = (def.libraries ?? []).map((library: string) => resolveDefines(library, defineSet));
    problems.push(...checkParams(def, [text, ...libraries], where));
    problems.push(...checkResolved(def, text, where, defineSet));
  }
  return [...new Set(problems)];
}

/** The WGSL array type of a storage binding in a variant: array<TYPE>, or array<vec4<TYPE>> (vec2) in its vec4 (vec2) variant (f32: vec4f). */
function elementArray(spec: BindingSpec, defineSet: Readonly<Record<string, boolean>>): string {
  const n = elementsPerRead(spec, defineSet);
  return n === 1 ? `array<${spec.type}>` : `array<vec${n}${spec.type.charAt(0)}>`;
}

/** The one `struct Params` of a variant's source and appended libraries against the declared fields. */
function checkParams(def: AnyKernelDef, sources: readonly string[], where: string): string[] {
  const declared = def.paramNames.map((name: string) => ({ name, type: def.params[name] }));
  const structs = sources.reduce((n, text) => n + [...stripComments(text).matchAll(/struct\s+Params\s*\{/g)].length, 0);
  if (structs === 0) return [`${where}: no 'struct Params' in the kernel or its libraries (declared fields: ${declared.map((f: { name: string }) => f.name).join(', ')})`];
  if (structs > 1) return [`${where}: 'struct Params' is declared ${structs} times (the kernel and its libraries declare it once)`];
  const fields = sources.flatMap((text) => parseStruct(text, 'Params') ?? []);
  const a = fields.map((f) => `${f.name}: ${f.type}`).join(', ');
  const b = declared.map((f: { name: string; type: string }) => `${f.name}: ${f.type}`).join(', ');
  return a === b ? [] : [`${where}: struct Params is { ${a} } but the declaration says { ${b} }`];
}

function checkResolved(def: AnyKernelDef, source: string, where: string, defineSet: Readonly<Record<string, boolean>>): string[] {
  const problems: string[] = [];
  const bindings = parseBindings(source);
  const expected = [
    { binding: 0, space: 'uniform', access: '', name: 'params', type: 'Params' },
    ...(def.bindingNames as string[]).flatMap((name: string, i: number) =>
      !bindingPresent(def.bindings[name], defineSet)
        ? []
        : def.bindings[name].access === 'uniform'
          ? [{ binding: i + 1, space: 'uniform', access: '', name, type: `array<vec4f,${name.toUpperCase()}_VEC4S>` }]
          : [{ binding: i + 1, space: 'storage', access: accessIn(def.bindings[name], defineSet), name, type: elementArray(def.bindings[name], defineSet) }],
    ),
  ];
  for (const name of def.bindingNames as string[]) {
    // Every variant a binding names must be declared.
    const named = { only: 'exists only in', unless: 'is left out in', writtenIn: 'is written in' } as const;
    for (const [field, what] of Object.entries(named) as [keyof typeof named, string][]) {
      const variant = def.bindings[name][field] as string | undefined;
      if (variant !== undefined && !(def.defines ?? []).includes(variant)) problems.push(`${where}: binding '${name}' ${what} variant '${variant}', which is not declared`);
    }
    const writtenIn = def.bindings[name].writtenIn as string | undefined;
    if (writtenIn !== undefined && def.bindings[name].access !== 'read') problems.push(`${where}: binding '${name}' is written in variant '${writtenIn}'; only a 'read' storage binding can be`);
    for (const width of ['vec4', 'vec2'] as const) {
      const variant = def.bindings[name][width] as string | undefined;
      if (variant !== undefined && !(def.defines ?? []).includes(variant)) problems.push(`${where}: binding '${name}' is read as ${width} in variant '${variant}', which is not declared`);
      if (variant !== undefined && def.bindings[name].access === 'uniform') problems.push(`${where}: binding '${name}' is a uniform array; only storage bindings have a ${width} variant`);
    }
  }
  for (const b of bindings) {
    if (b.group !== 0) problems.push(`${where}: binding '${b.name}' is in @group(${b.group}); every kernel uses @group(0)`);
  }
  const show = (b: { binding: number; space: string; access: string; name: string; type: string }) =>
    `@binding(${b.binding}) var<${b.space}${b.access ? `, ${b.access}` : ''}> ${b.name}: ${b.type}`;
  const actual = [...bindings].sort((x, y) => x.binding - y.binding).map(show);
  const wanted = expected.map(show);
  for (const w of wanted) if (!actual.includes(w)) problems.push(`${where}: expected '${w}' (from the declaration), not found`);
  for (const a of actual) if (!wanted.includes(a)) problems.push(`${where}: '${a}' is not in the declaration`);

  const dims = def.workgroupSize.length;
  const names = WORKGROUP_CONSTANTS.slice(0, dims);
  const text = stripComments(source);
  for (const name of names) {
    if (!new RegExp(`override\\s+${name}\\s*:\\s*u32\\s*;`).test(text)) {
      problems.push(`${where}: expected 'override ${name}: u32;' (no default: the size comes from the declaration)`);
    }
  }
  if (def.linear) {
    const linear = new RegExp(`fn\\s+${def.name}\\s*\\([^)]*@builtin\\(global_invocation_id\\)\\s*gid3\\s*:\\s*vec3u\\s*,\\s*@builtin\\(num_workgroups\\)\\s*nwg\\s*:\\s*vec3u\\s*\\)\\s*\\{\\s*let\\s+gid\\s*=\\s*linearInvocation\\(gid3,\\s*nwg\\);`);
    if (dims !== 1) problems.push(`${where}: a linear kernel has a 1-D workgroup size`);
    if (!linear.test(text)) problems.push(`${where}: a linear kernel takes (@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) and starts with 'let gid = linearInvocation(gid3, nwg);'`);
  }
  const entry = new RegExp(`@compute\\s+@workgroup_size\\(([^)]*)\\)\\s*fn\\s+${def.name}\\s*\\(`).exec(text);
  if (!entry) {
    problems.push(`${where}: no '@compute @workgroup_size(…) fn ${def.name}(' entry point`);
  } else {
    const args = entry[1]!.split(',').map((s) => s.trim());
    if (args.join(',') !== names.join(',')) {
      problems.push(`${where}: @workgroup_size(${args.join(', ')}) should be @workgroup_size(${names.join(', ')}) for a ${dims}-D declaration`);
    }
  }
  return problems;
}
