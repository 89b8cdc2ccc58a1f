/** Small DOM helpers for the page (no framework). */

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

export interface NumberField {
  readonly label: HTMLLabelElement;
  readonly input: HTMLInputElement;
  /** The value, checked: throws (and marks the field) when it is not a number in range. */
  value(): number;
}

/** A labelled number input whose value is checked when read. */
export function numberInput(name: string, initial: number, options: { min?: number; max?: number; step?: string; integer?: boolean; testid?: string } = {}): NumberField {
  const input = el('input', { type: 'number', value: String(initial), step: options.step ?? (options.integer === false ? 'any' : '1') });
  if (options.min !== undefined) input.min = String(options.min);
  if (options.max !== undefined) input.max = String(options.max);
  if (options.testid) input.dataset.testid = options.testid;
  const label = el('label', {}, name, input);
  const integer = options.integer ?? options.step === undefined;
  return {
    label,
    input,
    value() {
      const v = Number(input.value);
      const bad =
        input.value.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) ||
        (options.min !== undefined && v < options.min) || (options.max !== undefined && v > options.max);
      if (bad) {
        const range = [options.min !== undefined ? `≥ ${options.min}` : '', options.max !== undefined ? `≤ ${options.max}` : ''].filter(Boolean).join(' and ');
        const message = `${name}: expected ${integer ? 'a whole number' : 'a number'}${range ? ` ${range}` : ''}, got "${input.value}"`;
        input.setCustomValidity(message);
        input.reportValidity();
        throw new Error(message);
      }
      input.setCustomValidity('');
      return v;
    },
  };
}

export function checkbox(name: string, checked: boolean, testid?: string): { label: HTMLLabelElement; input: HTMLInputElement } {
  const input = el('input', { type: 'checkbox' });
  input.checked = checked;
  if (testid) input.dataset.testid = testid;
  return { label: el('label', {}, input, name), input };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Saves bytes as a download. */
export function download(bytes: Uint8Array, name: string, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

