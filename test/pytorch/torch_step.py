#!/usr/bin/env python3
"""One training step of a network in PyTorch, float64: the semantics this engine's reference is
held against (test/pytorch/reference-vs-pytorch.test.ts).

Reads a JSON file: {model_file, params, buffers, input, labels, batch, masks, loss} (and the loss's
label_smoothing, loss_beta, class_weights, pos_weight, log_target, ignore_index where given), where
model_file is the engine's model file (PyTorch's constructor names), params and buffers are
state_dict entries as flat lists, and masks holds each Dropout's mask (an RReLU's drawn slopes) by its path (so that both
sides drop the same elements). Builds the network with torch.nn under the same state_dict names,
runs forward, the loss and backward in float64, training mode, and prints JSON:
{loss, grads: {name: [...]}, buffers: {name: [...]}}.
"""
import json
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
spec = json.load(open(sys.argv[1]))
params = spec['params']
buffers = spec['buffers']


class GivenMask(nn.Module):
    """Dropout with the engine's mask (0 or 1/(1 - p) per element)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def forward(self, x):
        return x * torch.tensor(spec['masks'][self.path]).reshape(x.shape)


class GivenSlopes(nn.Module):
    """RReLU in training with the engine's drawn slopes: PyTorch's noise (the slope where x <= 0, else 1)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def forward(self, x):
        r = torch.tensor(spec['masks'][self.path]).reshape(x.shape)
        return x * torch.where(x <= 0, r, torch.ones_like(x))


class GivenAlphaMask(nn.Module):
    """AlphaDropout / FeatureAlphaDropout with the engine's mask (non-zero: kept), ATen's _dropout_impl formula."""

    def __init__(self, path, p):
        super().__init__()
        self.path, self.p = path, p

    def forward(self, x):
        if self.p == 1:
            return x.mul(torch.zeros((), dtype=x.dtype))
        noise = (torch.tensor(spec['masks'][self.path]).reshape(x.shape) != 0).to(x.dtype)
        alpha = 1.7580993408473766
        a = 1. / ((alpha * alpha * self.p + 1) * (1 - self.p)) ** 0.5
        b = noise.add(-1).mul(alpha * a).add(alpha * a * self.p)
        return x * noise.mul(a) + b


def shape_of(name):
    return len(params.get(name, buffers.get(name, [])))


def layer(entry, path):
    t = entry['type']
    if t == 'Conv2d':
        out_c = entry['out_channels']
        k = entry['kernel_size'] if isinstance(entry['kernel_size'], list) else [entry['kernel_size']] * 2
        groups = entry.get('groups', 1)
        in_c = shape_of(path + '.weight') // (out_c * k[0] * k[1]) * groups
        pair = lambda v: tuple(v) if isinstance(v, list) else v
        return nn.Conv2d(in_c, out_c, tuple(k), stride=pair(entry.get('stride', 1)), padding=pair(entry.get('padding', 0)), dilation=pair(entry.get('dilation', 1)),
                         groups=groups, bias=entry.get('bias', True), padding_mode=entry.get('padding_mode', 'zeros'))
    if t in ('Conv1d', 'ConvTranspose1d'):
        out_c, k, groups = entry['out_channels'], entry['kernel_size'], entry.get('groups', 1)
        k = k[0] if isinstance(k, list) else k
        one = lambda v: v[0] if isinstance(v, list) else v
        if t == 'Conv1d':
            in_c = shape_of(path + '.weight') // (out_c * k) * groups
            return nn.Conv1d(in_c, out_c, k, stride=one(entry.get('stride', 1)), padding=one(entry.get('padding', 0)), dilation=one(entry.get('dilation', 1)), groups=groups, bias=entry.get('bias', True),
                             padding_mode=entry.get('padding_mode', 'zeros'))
        in_c = shape_of(path + '.weight') // (out_c // groups * k)
        return nn.ConvTranspose1d(in_c, out_c, k, stride=one(entry.get('stride', 1)), padding=one(entry.get('padding', 0)), output_padding=one(entry.get('output_padding', 0)),
                                  groups=groups, bias=entry.get('bias', True), dilation=one(entry.get('dilation', 1)))
    if t == 'MaxPool1d':
        return nn.MaxPool1d(entry['kernel_size'], entry.get('stride'), padding=entry.get('padding', 0), dilation=entry.get('dilation', 1), ceil_mode=entry.get('ceil_mode', False))
    if t == 'AvgPool1d':
        return nn.AvgPool1d(entry['kernel_size'], entry.get('stride'), padding=entry.get('padding', 0), ceil_mode=entry.get('ceil_mode', False), count_include_pad=entry.get('count_include_pad', True))
    if t == 'AdaptiveAvgPool1d':
        return nn.AdaptiveAvgPool1d(entry['output_size'])
    if t == 'AdaptiveMaxPool1d':
        return nn.AdaptiveMaxPool1d(entry['output_size'])
    if t == 'ConvTranspose2d':
        out_c = entry['out_channels']
        k = entry['kernel_size'] if isinstance(entry['kernel_size'], list) else [entry['kernel_size']] * 2
        groups = entry.get('groups', 1)
        in_c = shape_of(path + '.weight') // (out_c // groups * k[0] * k[1])
        pair = lambda v: tuple(v) if isinstance(v, list) else v
        return nn.ConvTranspose2d(in_c, out_c, tuple(k), stride=pair(entry.get('stride', 1)), padding=pair(entry.get('padding', 0)),
                                  output_padding=pair(entry.get('output_padding', 0)), groups=groups, bias=entry.get('bias', True), dilation=pair(entry.get('dilation', 1)))
    if t == 'Embedding':
        return Embedding(entry['num_embeddings'], entry['embedding_dim'], padding_idx=entry.get('padding_idx'), max_norm=entry.get('max_norm'),
                         norm_type=float(entry.get('norm_type', 2.0)), scale_grad_by_freq=entry.get('scale_grad_by_freq', False))
    if t == 'Permute':
        return Permute(entry['dims'])
    if t == 'Linear':
        out_f = entry['out_features']
        return nn.Linear(shape_of(path + '.weight') // out_f, out_f, bias=entry.get('bias', True))
    if t == 'GroupNorm':
        # Without affine and num_channels any multiple of the groups does (F.group_norm reads the input's).
        channels = entry.get('num_channels') or shape_of(path + '.weight') or entry['num_groups']
        return nn.GroupNorm(entry['num_groups'], channels, eps=entry.get('eps', 1e-5), affine=entry.get('affine', True))
    if t in ('InstanceNorm2d', 'InstanceNorm1d'):
        cls = nn.InstanceNorm2d if t == 'InstanceNorm2d' else nn.InstanceNorm1d
        affine = entry.get('affine', False)
        # Without affine the features only feed PyTorch's warning about a mismatch: any number does.
        features = entry.get('num_features') or (shape_of(path + '.weight') if affine else 1)
        return cls(features, eps=entry.get('eps', 1e-5), affine=affine)
    if t == 'LayerNorm':
        shape = entry['normalized_shape'] if isinstance(entry['normalized_shape'], list) else [entry['normalized_shape']]
        ln = nn.LayerNorm(shape, eps=entry.get('eps', 1e-5), elementwise_affine=entry.get('elementwise_affine', True))
        if not entry.get('bias', True):
            ln.bias = None  # torch ≥ 2.1's bias=False (torch 1.13 has no argument for it)
        return ln
    if t in ('BatchNorm2d', 'BatchNorm1d'):
        options = dict(eps=entry.get('eps', 1e-5), momentum=entry.get('momentum', 0.1), affine=entry.get('affine', True), track_running_stats=entry.get('track_running_stats', True))
        if not options['affine'] and not options['track_running_stats']:
            # No tensor says the features: a lazy module infers them, as this engine does.
            return (nn.LazyBatchNorm2d if t == 'BatchNorm2d' else nn.LazyBatchNorm1d)(**options)
        cls = nn.BatchNorm2d if t == 'BatchNorm2d' else nn.BatchNorm1d
        return cls(shape_of(path + ('.weight' if options['affine'] else '.running_mean')), **options)
    if t in ('Dropout', 'Dropout2d', 'Dropout1d'):
        return GivenMask(path)
    if t in ('AlphaDropout', 'FeatureAlphaDropout'):
        return GivenAlphaMask(path, entry.get('p', 0.5))
    if t == 'RReLU':
        return GivenSlopes(path)
    if t == 'GLU':
        return nn.GLU(entry.get('dim', -1))
    if t == 'Softmin':
        return nn.Softmin(dim=1)
    if t == 'MaxPool2d':
        return nn.MaxPool2d(entry.get('kernel_size', 2), entry.get('stride'), padding=entry.get('padding', 0),
                            dilation=entry.get('dilation', 1), ceil_mode=entry.get('ceil_mode', False))
    if t == 'AvgPool2d':
        if 'kernel_size' not in entry:
            return nn.AdaptiveAvgPool2d(1)
        return nn.AvgPool2d(entry['kernel_size'], entry.get('stride'), padding=entry.get('padding', 0), ceil_mode=entry.get('ceil_mode', False),
                            count_include_pad=entry.get('count_include_pad', True), divisor_override=entry.get('divisor_override'))
    if t in ('AdaptiveAvgPool2d', 'AdaptiveMaxPool2d'):
        size = entry['output_size']
        size = tuple(size) if isinstance(size, list) else size
        return nn.AdaptiveAvgPool2d(size) if t == 'AdaptiveAvgPool2d' else nn.AdaptiveMaxPool2d(size)
    if t == 'LeakyReLU':
        return nn.LeakyReLU(entry.get('negative_slope', 0.01))
    if t == 'GELU':
        return nn.GELU(approximate=entry.get('approximate', 'none'))
    if t == 'ELU':
        return nn.ELU(entry.get('alpha', 1.0))
    if t == 'Softplus':
        return nn.Softplus(entry.get('beta', 1.0), float(entry.get('threshold', 20.0)))
    if t == 'Hardtanh':
        return nn.Hardtanh(float(entry.get('min_val', -1.0)), float(entry.get('max_val', 1.0)))
    if t == 'Softmax':
        return nn.Softmax(dim=1)
    if t == 'CELU':
        return nn.CELU(entry.get('alpha', 1.0))
    if t in ('Softshrink', 'Hardshrink'):
        return getattr(nn, t)(entry.get('lambd', 0.5))
    if t == 'Threshold':
        return nn.Threshold(float(entry['threshold']), entry['value'])
    if t == 'PReLU':
        return nn.PReLU(entry.get('num_parameters', 1), entry.get('init', 0.25))
    if t == 'PixelShuffle':
        return nn.PixelShuffle(entry['upscale_factor'])
    if t == 'PixelUnshuffle':
        return nn.PixelUnshuffle(entry['downscale_factor'])
    if t == 'ChannelShuffle':
        return ChannelShuffle(entry['groups'])
    if t == 'Unflatten':
        return nn.Unflatten(entry['dim'], tuple(entry['unflattened_size']))
    if t in ('Upsample', 'UpsamplingNearest2d', 'UpsamplingBilinear2d'):
        pair = lambda v: tuple(v) if isinstance(v, list) else v
        size, scale = pair(entry.get('size')), pair(entry.get('scale_factor'))
        if t == 'UpsamplingNearest2d':
            return nn.UpsamplingNearest2d(size, scale)
        if t == 'UpsamplingBilinear2d':
            return nn.UpsamplingBilinear2d(size, scale)
        return nn.Upsample(size, scale, mode=entry.get('mode', 'nearest'), align_corners=entry.get('align_corners'), recompute_scale_factor=entry.get('recompute_scale_factor'))
    if t.endswith('Pad1d'):
        padding = tuple(entry['padding']) if isinstance(entry['padding'], list) else entry['padding']
        pads = (padding, padding) if isinstance(padding, int) else padding
        if t in ('ConstantPad1d', 'ZeroPad1d'):
            return nn.ConstantPad1d(padding, entry.get('value', 0.0))  # ZeroPad1d: torch ≥ 2.1
        if t == 'CircularPad1d':
            return CircularPad2d(pads)  # torch ≥ 2.1's nn.CircularPad1d: F.pad's circular mode on the last dimension
        return {'ReflectionPad1d': nn.ReflectionPad1d, 'ReplicationPad1d': nn.ReplicationPad1d}[t](padding)
    if t.endswith('Pad2d'):
        padding = tuple(entry['padding']) if isinstance(entry['padding'], list) else entry['padding']
        if t == 'ConstantPad2d':
            return nn.ConstantPad2d(padding, entry['value'])
        if t == 'CircularPad2d':
            return CircularPad2d(padding)  # torch ≥ 2.1's nn.CircularPad2d
        return {'ZeroPad2d': nn.ZeroPad2d, 'ReflectionPad2d': nn.ReflectionPad2d, 'ReplicationPad2d': nn.ReplicationPad2d}[t](padding)
    simple = {'LogSigmoid': nn.LogSigmoid, 'Softsign': nn.Softsign, 'Tanhshrink': nn.Tanhshrink, 'Identity': nn.Identity, 'SELU': nn.SELU, 'Mish': nn.Mish, 'Hardswish': nn.Hardswish, 'Hardsigmoid': nn.Hardsigmoid, 'ReLU6': nn.ReLU6}
    if t in simple:
        return simple[t]()
    return {'ReLU': nn.ReLU, 'Sigmoid': nn.Sigmoid, 'Tanh': nn.Tanh, 'SiLU': nn.SiLU, 'Flatten': nn.Flatten}.get(t, lambda: nn.LogSoftmax(dim=1))()


class ChannelShuffle(nn.Module):
    """nn.ChannelShuffle as ShuffleNet writes it (view, transpose): torch 1.13's native channel_shuffle has no derivative."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c = x.shape[:2]
        return x.view(n, self.groups, c // self.groups, *x.shape[2:]).transpose(1, 2).contiguous().view(x.shape)


class Embedding(nn.Embedding):
    """nn.Embedding on the engine's ids, which arrive as floats (whole numbers): read as long."""

    def forward(self, x):
        return super().forward(x.long())


class Permute(nn.Module):
    """torchvision.ops.Permute (torch.permute as a module); dims over a sample's dimensions (the engine's form,
    the batch kept first) or torchvision's own with the batch as 0."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        dims = self.dims if len(self.dims) == x.dim() else [0] + [d % (x.dim() - 1) + 1 for d in self.dims]
        return torch.permute(x, dims)


class CircularPad2d(nn.Module):
    """torch ≥ 2.1's nn.CircularPad2d, which torch 1.13 lacks: F.pad in mode 'circular'."""

    def __init__(self, padding):
        super().__init__()
        self.padding = (padding,) * 4 if isinstance(padding, int) else padding  # 2 or 4 counts: the last dimension or two

    def forward(self, x):
        return F.pad(x, self.padding, mode='circular')


class Residual(nn.Module):
    """A residual block as a PyTorch user writes one (torchvision's BasicBlock without its last ReLU):
    the body's layers as the module's own attributes, the shortcut as one more, forward = body(x) + shortcut(x)."""

    def __init__(self, body, shortcut_name, shortcut, activation=None):
        super().__init__()
        self.body_names = list(body)
        for name, module in body.items():
            self.add_module(name, module)
        self.shortcut_name = shortcut_name
        if shortcut is not None:
            self.add_module(shortcut_name, shortcut)
        self.activation = activation  # a submodule without tensors: no state_dict entries (none in the engine either)

    def forward(self, x):
        y = x
        for name in self.body_names:
            y = getattr(self, name)(y)
        y = y + (getattr(self, self.shortcut_name)(x) if self.shortcut_name else x)
        return self.activation(y) if self.activation is not None else y


def module(entry, path):
    if entry.get('type') == 'Residual':
        body = children(entry, path)
        shortcut = entry.get('shortcut')
        activation = layer(entry['activation'], f'{path}:activation') if 'activation' in entry else None
        if shortcut is None:
            return Residual(body, None, None, activation)
        name = shortcut.get('name', 'shortcut')
        return Residual(body, name, module(shortcut, f'{path}.{name}'), activation)
    return nn.Sequential(children(entry, path)) if 'layers' in entry else layer(entry, path)


def children(entry, prefix):
    out = OrderedDict()
    for i, child in enumerate(entry['layers']):
        name = child.get('name', str(i))
        out[name] = module(child, f'{prefix}.{name}' if prefix else name)
    return out


def sequential(entry, prefix):
    return nn.Sequential(children(entry, prefix))


model = sequential(json.loads(spec['model_file']), '')
state = {k: torch.tensor(v).reshape(model.state_dict()[k].shape) for k, v in {**params, **buffers}.items()}
model.load_state_dict(state, strict=False)
model.train()
batch = spec['batch']
x = torch.tensor(spec['input']).reshape([batch] + json.loads(spec['model_file'])['input'])
labels = torch.tensor(spec['labels'], dtype=torch.long)
out = model(x)
loss_kind = spec['loss']
# Float targets where given (regression, multi-label), else the labels one-hot.
# (The NLL losses read the labels themselves: an ignore_index label has no one-hot.)
onehot = torch.tensor(spec['targets']).reshape(out.shape) if 'targets' in spec else None if loss_kind in ('nll', 'cross-entropy') else F.one_hot(labels, out.shape[1]).to(out.dtype)
ignore_index = spec['ignore_index'] if spec.get('ignore_index') is not None else -100
# Per-class weights (NLLLoss's, CrossEntropyLoss's weight) and BCEWithLogitsLoss's pos_weight, where given.
class_weights = torch.tensor(spec['class_weights'], dtype=out.dtype) if spec.get('class_weights') is not None else None
pos_weight = torch.tensor(spec['pos_weight'], dtype=out.dtype) if spec.get('pos_weight') is not None else None
if loss_kind == 'nll':
    loss = F.nll_loss(out, labels, weight=class_weights, ignore_index=ignore_index)
elif loss_kind == 'cross-entropy':
    loss = F.cross_entropy(out, labels, weight=class_weights, label_smoothing=spec.get('label_smoothing', 0.0), ignore_index=ignore_index)
elif loss_kind == 'mse':
    loss = F.mse_loss(out, onehot)
elif loss_kind == 'l1':
    loss = F.l1_loss(out, onehot)
elif loss_kind == 'smooth-l1':
    loss = F.smooth_l1_loss(out, onehot, beta=spec.get('loss_beta', 1.0))
elif loss_kind == 'huber':
    loss = F.huber_loss(out, onehot, delta=spec.get('loss_beta', 1.0))
elif loss_kind == 'bce-with-logits':
    loss = F.binary_cross_entropy_with_logits(out, onehot, pos_weight=pos_weight)
elif loss_kind == 'bce':
    loss = F.binary_cross_entropy(out, onehot)
elif loss_kind == 'kl-div':
    loss = F.kl_div(out, onehot, reduction='batchmean', log_target=spec.get('log_target', False))
else:
    loss = (0.5 * ((out - onehot) ** 2).sum(1)).mean()
loss.backward()
print(json.dumps({
    'loss': loss.item(),
    'grads': {k: p.grad.flatten().tolist() for k, p in model.named_parameters()},
    'buffers': {k: b.flatten().tolist() for k, b in model.named_buffers() if not k.endswith('num_batches_tracked')},
    # The parameters as the step left them (an Embedding's max_norm renorms its weight in place in the forward pass).
    'params': {k: p.detach().flatten().tolist() for k, p in model.named_parameters()},
}))
