/**
 * PyTorch's nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
 * activation='relu', layer_norm_eps=1e-5, batch_first=True, norm_first=False) as a composite of
 * this engine's layers, with PyTorch's state_dict names (self_attn.in_proj_weight,
 * self_attn.in_proj_bias, self_attn.out_proj.weight, self_attn.out_proj.bias, linear1.weight,
 * linear1.bias, linear2.weight, linear2.bias, norm1.weight, norm1.bias, norm2.weight, norm2.bias).
 * A sample is [L, d_model]. PyTorch's forward, as residual blocks whose children are named as the
 * encoder layer's own (Residual.inline: _sa_block and _ff_block are methods there):
 *   norm_first=False: x = norm1(x + dropout1(self_attn(x))); x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))
 *   norm_first=True:  x = x + dropout1(self_attn(norm1(x))); x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))
 * self_attn is a MultiheadAttention(d_model, nhead, dropout) (src/layers/attention.ts); a dropout
 * of 0 leaves the Dropout layers out (an identity in PyTorch). Refused, naming the option:
 * batch_first=False, an activation other than 'relu' or 'gelu'.
 */
import { GELU, ReLU } from './activations.js';
import { MultiheadAttention } from './attention.js';
import { Dropout } from './dropout.js';
import { Layer, checkOptions, positionalOptions, shownValue, trueOrFalse, whole } from './layer.js';
import { Linear } from './linear.js';
import { LayerNorm } from './normalization.js';
import { Residual, Sequential, flattenModel, type Module } from './sequential.js';

export interface TransformerEncoderLayerOptions {
  readonly dModel: number;
  readonly nhead: number;
  /** Default 2048, as PyTorch. */
  readonly dimFeedforward?: number;
  /** Default 0.1, as PyTorch: the attention weights', and after each block and the activation. */
  readonly dropout?: number;
  /** 'relu' (default) or 'gelu'. */
  readonly activation?: 'relu' | 'gelu';
  /** Default 1e-5. */
  readonly layerNormEps?: number;
  /** Only true. */
  readonly batchFirst?: boolean;
  /** Default false (post-norm). */
  readonly normFirst?: boolean;
}

const POSITIONS = ['dModel', 'nhead', 'dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'batchFirst', 'normFirst'] as const;
const OWNER = 'TransformerEncoderLayer';

/** A residual block whose children are named as its parent's. */
class InlineResidual extends Residual {
  override readonly inline = true;
}

export class TransformerEncoderLayer extends Sequential {
  /** PyTorch's constructor arguments (snake_case), as a model file writes them. */
  readonly config: { readonly d_model: number; readonly nhead: number; readonly dim_feedforward: number; readonly dropout: number; readonly activation: 'relu' | 'gelu'; readonly layer_norm_eps: number; readonly batch_first: true; readonly norm_first: boolean };

  /** `new TransformerEncoderLayer({ dModel: 64, nhead: 4 })`, or PyTorch's positional form `new TransformerEncoderLayer(64, 4, { dimFeedforward: 256, dropout: 0 })`. */
  constructor(options: TransformerEncoderLayerOptions);
  constructor(dModel: number, nhead: number, options?: Omit<TransformerEncoderLayerOptions, 'dModel' | 'nhead'>);
  constructor(first: TransformerEncoderLayerOptions | number, ...rest: unknown[]) {
    super();
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${OWNER}: an options object takes no other arguments`);
    const o: TransformerEncoderLayerOptions = typeof first === 'number' ? positionalOptions<TransformerEncoderLayerOptions>(OWNER, [first, ...rest], POSITIONS, POSITIONS) : checkOptions(OWNER, first, POSITIONS);
    const d = whole(OWNER, 'd_model', o.dModel);
    const nhead = whole(OWNER, 'nhead', o.nhead);
    const ff = whole(OWNER, 'dim_feedforward', o.dimFeedforward ?? 2048);
    const p = o.dropout ?? 0.1;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${OWNER}: dropout must be a number in [0, 1], got ${shownValue(p)}`);
    const activation = o.activation ?? 'relu';
    if (activation !== 'relu' && activation !== 'gelu') throw new RangeError(`${OWNER}: activation must be 'relu' or 'gelu' here, got ${shownValue(activation)}`);
    const eps = o.layerNormEps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0)) throw new RangeError(`${OWNER}: layer_norm_eps must be a number > 0, got ${shownValue(eps)}`);
    trueOrFalse(OWNER, 'batch_first', o.batchFirst, true);
    if (o.batchFirst === false) throw new RangeError(`${OWNER}: batch_first must be true here (a sample is a sequence [L, d_model], the batch first), got false`);
    const normFirst = trueOrFalse(OWNER, 'norm_first', o.normFirst, false);
    this.config = { d_model: d, nhead, dim_feedforward: ff, dropout: p, activation, layer_norm_eps: eps, batch_first: true, norm_first: normFirst };

    const drop = (name: string): [string, Module][] => (p > 0 ? [[name, new Dropout(p)]] : []);
    const norm = (name: string): [string, Module] => [name, new LayerNorm(d, { eps })];
    const attention: [string, Module][] = [['self_attn', new MultiheadAttention(d, nhead, { dropout: p, batchFirst: true })], ...drop('dropout1')];
    const feedForward: [string, Module][] = [['linear1', new Linear(d, ff)], ['activation', activation === 'relu' ? new ReLU() : new GELU()], ...drop('dropout'), ['linear2', new Linear(ff, d)], ...drop('dropout2')];
    const block = (entries: [string, Module][]) => new InlineResidual(Sequential.fromEntries(entries));
    const children: [string, Module][] = normFirst
      ? [['sa_block', block([norm('norm1'), ...attention])], ['ff_block', block([norm('norm2'), ...feedForward])]]
      : [['sa_block', block(attention)], norm('norm1'), ['ff_block', block(feedForward)], norm('norm2')];
    // The children's names must not meet across the inline blocks (they share the state_dict's level).
    const names = children.flatMap(([name, m]) => (m instanceof InlineResidual ? m.children.map(([n]) => n) : [name]));
    if (new Set(names).size !== names.length) throw new Error(`${OWNER}: children named twice (${names.join(', ')})`);
    (this as { children: readonly (readonly [string, Module])[] }).children = Sequential.fromEntries(children).children;
  }
}

export interface TransformerEncoderOptions {
  /** PyTorch's norm: a layer applied after the last encoder layer (usually LayerNorm(d_model)); its tensors are `norm.*`; null is PyTorch's None. */
  readonly norm?: Layer | null;
  /** Accepted as PyTorch's (default true): its fast path for padded inference; no result changes. */
  readonly enableNestedTensor?: boolean;
  /** Accepted as PyTorch's (default true): it checks a padding mask, which this engine's encoder takes none of. */
  readonly maskCheck?: boolean;
}

const ENCODER_OWNER = 'TransformerEncoder';

/**
 * PyTorch's nn.TransformerEncoder(encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
 * mask_check=True): num_layers copies of encoder_layer run in turn (`layers.0.…`, `layers.1.…`),
 * then `norm` if given (`norm.weight`, `norm.bias`). As PyTorch's copy.deepcopy of encoder_layer,
 * the copies start from the same initial weights (Layer.initLike: each copy's layers draw their
 * default initialisation as the first copy's) and draw their own dropout masks; encoder_layer
 * itself is not part of the model (as in PyTorch, where only its copies are).
 */
export class TransformerEncoder extends Sequential {
  /** PyTorch's constructor arguments (snake_case); `norm` is the layer at `norm`. */
  readonly config: { readonly encoder_layer: TransformerEncoderLayer['config']; readonly num_layers: number; readonly enable_nested_tensor: boolean; readonly mask_check: boolean };
  readonly norm?: Layer;

  /**
   * `new TransformerEncoder(new TransformerEncoderLayer(64, 4), 2, { norm: new LayerNorm(64) })`,
   * or PyTorch's positional norm (null: None), then at most an options object:
   * `new TransformerEncoder(layer, 2, new LayerNorm(64), { enableNestedTensor: false })`.
   */
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, options?: TransformerEncoderOptions);
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, norm: Layer | null, options?: Omit<TransformerEncoderOptions, 'norm'>);
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, ...rest: unknown[]) {
    super();
    if (!(encoderLayer instanceof TransformerEncoderLayer)) throw new TypeError(`${ENCODER_OWNER}: encoder_layer must be a TransformerEncoderLayer, got ${shownValue(encoderLayer)}`);
    const n = whole(ENCODER_OWNER, 'num_layers', numLayers);
    // A module or null in the third place is PyTorch's positional norm; an options object may follow.
    const positional = rest[0] === null || rest[0] instanceof Layer || rest[0] instanceof Sequential || rest[0] instanceof Residual;
    if (rest.length > (positional ? 2 : 1)) throw new RangeError(`${ENCODER_OWNER}: ${2 + rest.length} arguments; expected (encoder_layer, num_layers, norm) then at most an options object`);
    const options = (positional ? rest[1] : rest[0]) ?? {};
    const o: TransformerEncoderOptions = positional
      ? { ...checkOptions<Omit<TransformerEncoderOptions, 'norm'>>(ENCODER_OWNER, options as object, ['enableNestedTensor', 'maskCheck']), norm: rest[0] as Layer | null }
      : checkOptions<TransformerEncoderOptions>(ENCODER_OWNER, options as object, ['norm', 'enableNestedTensor', 'maskCheck']);
    // null is PyTorch's None; a norm is one layer here (PyTorch takes any module).
    const norm: unknown = o.norm ?? undefined;
    if (norm !== undefined && !(norm instanceof Layer)) {
      const got = norm instanceof Sequential || norm instanceof Residual ? `a ${norm.constructor.name}` : shownValue(norm);
      throw new TypeError(`${ENCODER_OWNER}: norm must be one layer (such as a LayerNorm(d_model)), null or left out, got ${got}`);
    }
    const enableNestedTensor = trueOrFalse(ENCODER_OWNER, 'enable_nested_tensor', o.enableNestedTensor, true);
    const maskCheck = trueOrFalse(ENCODER_OWNER, 'mask_check', o.maskCheck, true);
    const c = encoderLayer.config;
    const copies = Array.from({ length: n }, () =>
      new TransformerEncoderLayer({ dModel: c.d_model, nhead: c.nhead, dimFeedforward: c.dim_feedforward, dropout: c.dropout, activation: c.activation, layerNormEps: c.layer_norm_eps, normFirst: c.norm_first }),
    );
    // Each copy's layers start from the first copy's weights: the same structure, leaf for leaf.
    const first = flattenModel(copies[0]!).leaves;
    for (const copy of copies.slice(1)) flattenModel(copy).leaves.forEach(({ layer }, i) => (layer.initLike = first[i]!.layer));
    this.config = { encoder_layer: c, num_layers: n, enable_nested_tensor: enableNestedTensor, mask_check: maskCheck };
    if (norm) this.norm = norm;
    const layers = Sequential.fromEntries(copies.map((copy, i) => [String(i), copy]));
    (this as { children: readonly (readonly [string, Module])[] }).children = Sequential.fromEntries([['layers', layers], ...(norm ? [['norm', norm] as const] : [])]).children;
  }
}
