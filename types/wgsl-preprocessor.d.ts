declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  /** Template-literal tag resolving `#if ${value}` / `#elif` / `#else` / `#endif` blocks. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}
