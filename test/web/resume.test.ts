/** What the page takes from a checkpoint it loads (src/web/resume.ts), as the CLI's --init does. */
import { describe, expect, it } from 'vitest';
import { Adadelta, Adamax, AdamW, NAdam, RAdam, SGD } from '../../src/optim/optimizers.js';
import { pageResume } from '../../src/web/resume.js';

describe('pageResume', () => {
  it('takes an SGD checkpoint’s batch, seed, optimizer, learning rate and momentum', () => {
    const r = pageResume({ optimizer: 'sgd', lr: '0.05', momentum: '0.8', batch: '64', seed: '7', epoch: '3' }, 'a.safetensors');
    expect(r.fields).toEqual({ batch: '64', seed: '7', optimizer: 'sgd', lr: '0.05', momentum: '0.8' });
    expect(r.optimizer).toBeInstanceOf(SGD);
    expect(r.note).toBe('Its optimizer goes on with its state: SGD lr 0.05, momentum 0.8.');
    // A PyTorch state_dict has no optimizer: what it has is taken, and the page's fields choose one.
    expect(pageResume({ batch: '32' }, 'torch.safetensors')).toEqual({ fields: { batch: '32' } });
  });

  it('goes on with an AdamW checkpoint’s optimizer, its settings and its schedule', () => {
    const r = pageResume({ optimizer: 'adamw', lr: '0.003', betas: '0.8,0.99', weight_decay: '0.05', schedule: 'step', step_size: '5', gamma: '0.5', batch: '128', seed: '1' }, 'b.safetensors');
    expect(r.fields).toEqual({ batch: '128', seed: '1', optimizer: 'adamw', lr: '0.003' });
    expect(r.optimizer).toBeInstanceOf(AdamW);
    expect(r.optimizer).toMatchObject({ lr: 0.003, betas: [0.8, 0.99], weightDecay: 0.05, schedule: { kind: 'step', stepSize: 5, gamma: 0.5 } });
    expect(r.note).toBe('Its optimizer goes on with its state: AdamW lr 0.003, betas (0.8, 0.99), eps 1e-8, weight decay 0.05, StepLR(step_size=5 epochs, gamma=0.5).');
  });

  it('goes on with a NAdam or RAdam checkpoint’s optimizer (its menu entries), momentum_decay and its OneCycle schedule', () => {
    const r = pageResume({ optimizer: 'nadam', lr: '0.002', betas: '0.9,0.999', momentum_decay: '0.01', schedule: 'onecycle', max_lr: '0.002', total_steps: '100' }, 'n.safetensors');
    expect(r.fields).toEqual({ optimizer: 'nadam', lr: '0.002' });
    expect(r.optimizer).toBeInstanceOf(NAdam);
    expect(r.note).toMatch(/^Its optimizer goes on with its state: NAdam lr 0\.002, betas \(0\.9, 0\.999\), eps 1e-8, weight decay 0, momentum decay 0\.01, OneCycleLR/);
    const radam = pageResume({ optimizer: 'radam', lr: '0.001', weight_decay: '0.01' }, 'r.safetensors');
    expect(radam.optimizer).toBeInstanceOf(RAdam);
    expect(radam.note).toBe('Its optimizer goes on with its state: RAdam lr 0.001, betas (0.9, 0.999), eps 1e-8, weight decay 0.01.');
  });

  it('goes on with the newer epoch-based schedules, named in the note (the page has no schedule menu: the checkpoint’s goes on)', () => {
    const r = pageResume({ optimizer: 'sgd', lr: '0.1', momentum: '0.9', schedule: 'cosine-restarts', t_0: '5', t_mult: '2', eta_min: '0.001', warmup_epochs: '2' }, 'w.safetensors');
    expect(r.optimizer?.schedule).toEqual({ kind: 'cosine-restarts', t0: 5, tMult: 2, etaMin: 0.001, warmup: { epochs: 2 } });
    expect(r.note).toBe('Its optimizer goes on with its state: SGD lr 0.1, momentum 0.9, LinearLR(start_factor=1/3, total_iters=2 epochs), then from epoch 3 CosineAnnealingWarmRestarts(T_0=5 epochs, T_mult=2, eta_min=0.001) (SequentialLR).');
    expect(pageResume({ optimizer: 'adam', schedule: 'polynomial', total_iters: '8', power: '2' }, 'p.safetensors').note).toMatch(/, PolynomialLR\(total_iters=8 epochs, power=2\)\.$/);
    expect(() => pageResume({ optimizer: 'adam', schedule: 'linear', end_factor: '2' }, 'l.safetensors')).toThrow('l.safetensors: __metadata__.end_factor is "2", expected a number from 0 to 1');
  });

  it('goes on with an Adamax or Adadelta checkpoint’s optimizer (its menu entries), rho and its schedule', () => {
    const r = pageResume({ optimizer: 'adamax', lr: '0.002', betas: '0.8,0.99', schedule: 'onecycle', max_lr: '0.002', total_steps: '100' }, 'm.safetensors');
    expect(r.fields).toEqual({ optimizer: 'adamax', lr: '0.002' });
    expect(r.optimizer).toBeInstanceOf(Adamax);
    expect(r.note).toMatch(/^Its optimizer goes on with its state: Adamax lr 0\.002, betas \(0\.8, 0\.99\), eps 1e-8, weight decay 0, OneCycleLR/);
    const adadelta = pageResume({ optimizer: 'adadelta', lr: '1', rho: '0.95', weight_decay: '0.01' }, 'd.safetensors');
    expect(adadelta.fields).toEqual({ optimizer: 'adadelta', lr: '1' });
    expect(adadelta.optimizer).toBeInstanceOf(Adadelta);
    expect(adadelta.note).toBe('Its optimizer goes on with its state: Adadelta lr 1, rho 0.95, eps 0.000001, weight decay 0.01.');
  });

  it('takes the run’s loss, rotation and shuffle where the checkpoint records them', () => {
    expect(pageResume({ loss: 'mse', augment: 'false', shuffle: 'true' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'mse', augment: false, shuffle: true });
    expect(pageResume({ loss: 'cross_entropy', augment: 'no' }, 'd.safetensors')).toEqual({ fields: {} });
    // The cross-entropy's label smoothing goes on too (a loaded run trained without it otherwise).
    expect(pageResume({ loss: 'cross-entropy', label_smoothing: '0.1' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'cross-entropy', labelSmoothing: 0.1 });
    expect(pageResume({ loss: 'cross-entropy', label_smoothing: '2' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'cross-entropy' });
    // The loss's options: per-class weights, pos_weight and log_target with their loss (others' left behind).
    expect(pageResume({ loss: 'cross-entropy', class_weights: '1,0.5,2' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'cross-entropy', lossParameters: { classWeights: [1, 0.5, 2] } });
    expect(pageResume({ loss: 'bce-with-logits', pos_weight: '3,0' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'bce-with-logits', lossParameters: { posWeight: [3, 0] } });
    expect(pageResume({ loss: 'kl-div', log_target: 'true' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'kl-div', lossParameters: { logTarget: true } });
    expect(pageResume({ loss: 'mse', class_weights: '1,2' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'mse' });
    expect(() => pageResume({ loss: 'nll', class_weights: '1,-1' }, 'd.safetensors')).toThrow('d.safetensors: __metadata__.class_weights is "1,-1", expected numbers ≥ 0, separated by commas');
    // ignore_index with the NLL losses (another loss's left behind); a bad one refused naming the file.
    expect(pageResume({ loss: 'cross-entropy', ignore_index: '-100', class_weights: '1,2' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'cross-entropy', lossParameters: { classWeights: [1, 2], ignoreIndex: -100 } });
    expect(pageResume({ loss: 'nll', ignore_index: '3' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'nll', lossParameters: { ignoreIndex: 3 } });
    expect(pageResume({ loss: 'mse', ignore_index: '3' }, 'd.safetensors')).toEqual({ fields: {}, loss: 'mse' });
    expect(() => pageResume({ loss: 'nll', ignore_index: '0.5' }, 'd.safetensors')).toThrow('d.safetensors: __metadata__.ignore_index is "0.5", expected an integer from -2147483648 to 2147483647');
  });

  it('goes on with the run’s gradient clipping, saying so; a record that could not have been written is refused naming the file', () => {
    const r = pageResume({ optimizer: 'sgd', lr: '0.01', momentum: '0.9', clip_grad_norm: '0.5', clip_grad_norm_type: 'inf' }, 'e.safetensors');
    expect(r.clip).toEqual({ clipGradNorm: { maxNorm: 0.5, normType: 'inf' } });
    expect(r.note).toBe('Its optimizer goes on with its state: SGD lr 0.01, momentum 0.9.');
    expect(r.clipNote).toBe('Its gradients are clipped as before: clip_grad_norm_ 0.5 (∞-norm).');
    expect(pageResume({ clip_grad_value: '0.1' }, 'e.safetensors')).toEqual({ fields: {}, clip: { clipGradValue: 0.1 }, clipNote: 'Its gradients are clipped as before: clip_grad_value_ 0.1.' });
    expect(() => pageResume({ clip_grad_value: 'lots' }, 'e.safetensors')).toThrow('e.safetensors: __metadata__.clip_grad_value is "lots", expected a finite number ≥ 0');
  });

  it('leaves out values the page’s fields refuse, and refuses bad optimizer metadata naming the file', () => {
    expect(pageResume({ batch: '4096', seed: '-1' }, 'c.safetensors')).toEqual({ fields: {} });
    expect(() => pageResume({ optimizer: 'sgd', lr: 'fast' }, 'c.safetensors')).toThrow('c.safetensors: __metadata__.lr is "fast", expected a number ≥ 0');
    expect(() => pageResume({ optimizer: 'lion' }, 'c.safetensors')).toThrow('c.safetensors: __metadata__.optimizer is "lion", expected sgd, adam, adamw, rmsprop, adagrad, nadam, radam, adamax, adadelta');
  });
});
