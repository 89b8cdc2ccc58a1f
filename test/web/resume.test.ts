/** What the page takes from a checkpoint it loads (src/web/resume.ts), as the CLI's --init does. */
import { describe, expect, it } from 'vitest';
import { pageResume } from '../../src/web/resume.js';

describe('pageResume', () => {
  it('takes an SGD checkpoint’s batch, seed, learning rate and momentum', () => {
    expect(pageResume({ optimizer: 'sgd', lr: '0.05', momentum: '0.8', batch: '64', seed: '7', epoch: '3' })).toEqual({ fields: { batch: '64', seed: '7', lr: '0.05', momentum: '0.8' } });
    // A PyTorch state_dict has no optimizer: what it has is taken.
    expect(pageResume({ batch: '32' })).toEqual({ fields: { batch: '32' } });
  });

  it('keeps the page’s rate and momentum for another optimizer, and says its state is not used', () => {
    const r = pageResume({ optimizer: 'adamw', lr: '0.003', betas: '0.9,0.999', batch: '128', seed: '1' });
    expect(r.fields).toEqual({ batch: '128', seed: '1' });
    expect(r.note).toBe('It was trained with adamw; the page trains with SGD, so its adamw state is not used.');
  });

  it('leaves out values the page’s fields refuse', () => {
    expect(pageResume({ optimizer: 'sgd', lr: 'fast', momentum: '2', batch: '4096', seed: '-1' })).toEqual({ fields: {} });
  });
});
