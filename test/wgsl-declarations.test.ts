/**
 * Every kernel's WGSL against its TypeScript declaration, without a GPU: bindings, access,
 * element types, the Params struct, the workgroup-size overrides and the entry point.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { bindingPresent, type AnyKernelDef, type BindingSpec } from '../src/gpu/kernel.js';
import { checkKernelSource } from '../src/gpu/wgsl-check.js';
import * as kernels from '../src/kernels/index.js';

const declared = Object.values(kernels) as AnyKernelDef[];
const shaderDir = new URL('../shaders/', import.meta.url);

describe('WGSL matches the kernel declarations', () => {
  test.each(declared.map((k) => [k.name, k] as const))('%s', (name, def) => {
    const file = readFileSync(new URL(`${name}.wgsl`, shaderDir), 'utf8');
    expect(def.source, `${name}: the declaration must load shaders/${name}.wgsl`).toBe(file);
    expect(checkKernelSource(def)).toEqual([]);
  });

  test("every kernel fits WebGPU's default binding limits in every variant, so it runs on any adapter", () => {
    // maxStorageBuffersPerShaderStage 8, maxUniformBuffersPerShaderStage 12 (the Params buffer is one).
    // Every combination of the variants that decide which bindings exist (BindingSpec.only, .unless), with those it has.
    // Beyond them only a kernel whose callers check the device's limit and fall back where it is lower.
    const raisedStorage: Readonly<Record<string, number>> = {
      // A batch norm's training forward with its statistics' merge (batchnormMergeForwardFits).
      batchnorm_merge_forward: 10,
    };
    for (const def of declared) {
      const bindings = Object.values(def.bindings) as BindingSpec[];
      const defines = [...new Set(bindings.flatMap((b) => [b.only, b.unless]).filter((d) => d !== undefined))];
      for (let mask = 0; mask < 2 ** defines.length; mask++) {
        const on = Object.fromEntries(defines.map((d, i) => [d, (mask & (1 << i)) !== 0]));
        const specs = bindings.filter((b) => bindingPresent(b, on));
        const variant = `${def.name} {${defines.filter((d) => on[d]).join(', ')}}`;
        expect(specs.filter((b) => b.access !== 'uniform').length, `${variant}: storage buffers`).toBeLessThanOrEqual(raisedStorage[def.name] ?? 8);
        expect(1 + specs.filter((b) => b.access === 'uniform').length, `${variant}: uniform buffers`).toBeLessThanOrEqual(12);
      }
    }
  });

  test('every shader file has a declaration, and names are unique', () => {
    const files = readdirSync(shaderDir).filter((f) => f.endsWith('.wgsl')).map((f) => f.replace(/\.wgsl$/, ''));
    const names = declared.map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...files].sort()).toEqual([...names].sort());
  });
});

describe('the check catches a mismatch', () => {
  const sample = kernels.halfSquaredError as AnyKernelDef;

  test('a changed @binding number in any kernel fails', () => {
    for (const def of declared) {
      const mutated = def.source.replace('@binding(1)', '@binding(7)');
      expect(mutated).not.toBe(def.source);
      expect(checkKernelSource(def, mutated).join('\n')).toMatch(/@binding\(1\).*not found/);
    }
  });

  test('a binding written in place in a variant must be read_write there, and a binding left out there must be absent', () => {
    const def = kernels.batchnormBackwardReduce as AnyKernelDef;
    expect(checkKernelSource(def)).toEqual([]);
    const readOnly = def.source.replace('@group(0) @binding(1) var<storage, read_write> dy: array<f32>;', '@group(0) @binding(1) var<storage, read> dy: array<f32>;');
    expect(readOnly).not.toBe(def.source);
    expect(checkKernelSource(def, readOnly).join('\n')).toMatch(/var<storage, read_write> dy: array<f32>.*not found/);
    const kept = def.source.replace('#if IN_PLACE\n#elif VEC4\n@group(0) @binding(8)', '#if VEC4\n@group(0) @binding(8)');
    expect(kept).not.toBe(def.source);
    expect(checkKernelSource(def, kept).join('\n')).toMatch(/dx/);
  });

  test('a changed access mode fails', () => {
    const mutated = sample.source.replace('var<storage, read_write> grad', 'var<storage, read> grad');
    expect(checkKernelSource(sample, mutated).join('\n')).toMatch(/grad/);
  });

  test('a reordered Params struct fails', () => {
    const mutated = sample.source.replace('batch: u32,\n  features: u32,', 'features: u32,\n  batch: u32,');
    expect(mutated).not.toBe(sample.source);
    expect(checkKernelSource(sample, mutated).join('\n')).toMatch(/struct Params/);
  });

  test("a family's Params struct in an appended library is held against the declaration, and is declared once", () => {
    const def = kernels.attentionScores as AnyKernelDef;
    const params = def.libraries!.find((l: string) => l.includes('struct Params'))!;
    const reordered = params.replace('seqLen: u32,\n  embed: u32,', 'embed: u32,\n  seqLen: u32,');
    expect(reordered).not.toBe(params);
    const withLibrary = (library: string) => ({ ...def, libraries: def.libraries!.map((l: string) => (l === params ? library : l)) }) as AnyKernelDef;
    expect(checkKernelSource(withLibrary(reordered)).join('\n')).toMatch(/struct Params is \{ batch: u32, embed: u32, seqLen: u32/);
    expect(checkKernelSource(def, `${params}\n${def.source}`).join('\n')).toMatch(/'struct Params' is declared 2 times/);
    expect(checkKernelSource(withLibrary(params.replace('struct Params', 'struct Parameters'))).join('\n')).toMatch(/no 'struct Params'/);
  });

  test('a literal workgroup size fails', () => {
    const mutated = sample.source.replace('@workgroup_size(WG_X)', '@workgroup_size(64)');
    expect(checkKernelSource(sample, mutated).join('\n')).toMatch(/workgroup_size/);
  });

  test('a binding read as vec4s in a variant must be array<vec4f> there and array<f32> elsewhere', () => {
    const def = kernels.dropoutBackward as AnyKernelDef;
    expect(checkKernelSource(def)).toEqual([]);
    const scalarInVec4 = def.source.replace('var<storage, read> dy: array<vec4f>;', 'var<storage, read> dy: array<f32>;');
    expect(scalarInVec4).not.toBe(def.source);
    expect(checkKernelSource(def, scalarInVec4).join('\n')).toMatch(/dy: array<vec4f>.*not found/);
    const vec4Always = def.source.replace('var<storage, read_write> dx: array<f32>;', 'var<storage, read_write> dx: array<vec4f>;');
    expect(vec4Always).not.toBe(def.source);
    expect(checkKernelSource(def, vec4Always).join('\n')).toMatch(/dx: array<f32>.*not found/);
    const undeclared = { ...def, bindings: { ...def.bindings, dy: { type: 'f32', access: 'read', vec4: 'WIDE' } } } as AnyKernelDef;
    expect(checkKernelSource(undeclared).join('\n')).toMatch(/'dy' is read as vec4 in variant 'WIDE', which is not declared/);
  });

  test('a binding read as vec2s in a variant must be array<vec2f> there, and each variant is checked alone', () => {
    const def = kernels.conv2dForward as AnyKernelDef;
    expect(checkKernelSource(def)).toEqual([]);
    // IN_VEC2 is reached only with IN_VEC4 unset: the check resolves each variant on its own.
    const wrongVec2 = def.source.replace('var<storage, read> x: array<vec2f>;', 'var<storage, read> x: array<vec4f>;');
    expect(wrongVec2).not.toBe(def.source);
    expect(checkKernelSource(def, wrongVec2).join('\n')).toMatch(/x: array<vec2f>.*not found/);
    const undeclared = { ...def, bindings: { ...def.bindings, y: { type: 'f32', access: 'read_write', vec2: 'HALF' } } } as AnyKernelDef;
    expect(checkKernelSource(undeclared).join('\n')).toMatch(/'y' is read as vec2 in variant 'HALF', which is not declared/);
  });

  test('a binding of one variant only must be declared inside that variant and nowhere else', () => {
    const def = kernels.batchnormBackwardInput as AnyKernelDef;
    expect(def.bindings.mask.only).toBe('DROPOUT');
    expect(checkKernelSource(def)).toEqual([]);
    const always = def.source.replace('#if DROPOUT\n@group(0) @binding(8) var<storage, read> mask: array<u32>;\n#endif', '@group(0) @binding(8) var<storage, read> mask: array<u32>;');
    expect(always).not.toBe(def.source);
    expect(checkKernelSource(def, always).join('\n')).toMatch(/'@binding\(8\) var<storage, read> mask: array<u32>' is not in the declaration/);
    const missing = def.source.replace('@group(0) @binding(8) var<storage, read> mask: array<u32>;', '');
    expect(checkKernelSource(def, missing).join('\n')).toMatch(/expected '@binding\(8\) var<storage, read> mask: array<u32>'/);
    const undeclared = { ...def, bindings: { ...def.bindings, mask: { type: 'u32', access: 'read', only: 'MASKED' } } } as AnyKernelDef;
    expect(checkKernelSource(undeclared).join('\n')).toMatch(/'mask' exists only in variant 'MASKED', which is not declared/);
  });

  test("an appended library's #if must name a declared variant", () => {
    const def = kernels.conv2dForward as AnyKernelDef;
    const renamed = { ...def, libraries: def.libraries!.map((l: string) => l.replace('#if IN_VEC4', '#if IN_VEC8')) } as AnyKernelDef;
    expect(checkKernelSource(renamed).join('\n')).toMatch(/'#if IN_VEC8' is not a declared variant/);
  });

  test("a declared constant an appended library holds is held against the declaration too", () => {
    const def = kernels.sgdStep as AnyKernelDef;
    const drifted = { ...def, libraries: def.libraries!.map((l: string) => l.replace('const SLOT_BLOCK = 256u;', 'const SLOT_BLOCK = 128u;')) } as AnyKernelDef;
    expect(checkKernelSource(drifted).join('\n')).toMatch(/const SLOT_BLOCK is 128 but the declaration says 256/);
    const missing = { ...def, libraries: def.libraries!.map((l: string) => l.replace('const SLOT_BLOCK = 256u;', '')) } as AnyKernelDef;
    expect(checkKernelSource(missing).join('\n')).toMatch(/expected 'const SLOT_BLOCK = 256u;'/);
  });

  test('an undeclared variant fails', () => {
    const def = kernels.sigmoidBackward as AnyKernelDef;
    const mutated = def.source.replace('#if SPREADSHEET_DERIVATIVE', '#if SOMETHING_ELSE');
    expect(checkKernelSource(def, mutated).join('\n')).toMatch(/SOMETHING_ELSE/);
  });
});
