"""`lamina.ops.nn.dot_product_attention`: scaled dot-product attention.
"""

import math

import torch
import torch.nn.functional as F

from lamina.ops.operands import (
    promote,
    tensor,
)
from lamina.ops.operation import keras_op


def _large_negative(dtype):
    return -0.7 * torch.finfo(dtype).max


@keras_op("DotProductAttention", module="nn",
          init_args=("is_causal", "flash_attention", "attn_logits_soft_cap"))
def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    scale=None,
    is_causal=False,
    flash_attention=None,
    attn_logits_soft_cap=None,
):
    """Scaled dot-product attention on `(batch, length, heads, head_dim)` tensors.

    `bias` is added to the logits; `mask` (bool, broadcastable to
    `(batch, heads, query_length, key_length)`) keeps the True positions; `is_causal`
    masks keys after each query. Key/value may have fewer heads (grouped queries).
    """
    query, key, value = promote(tensor(query), tensor(key), tensor(value))
    rank = query.ndim
    if rank == 3:
        query, key, value = query.unsqueeze(2), key.unsqueeze(2), value.unsqueeze(2)
    elif rank != 4:
        raise ValueError(
            "`dot_product_attention`: query, key and value must be 3-D or 4-D "
            f"(batch, length, [heads,] head_dim). Received query shape {tuple(query.shape)}."
        )
    if flash_attention:
        raise ValueError("`dot_product_attention`: flash_attention=True is not supported.")
    q, k, v = query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2)
    heads, kv_heads = q.shape[1], k.shape[1]
    if heads != kv_heads:
        if heads % kv_heads:
            raise ValueError(
                f"`dot_product_attention`: query heads ({heads}) must be a multiple of "
                f"key/value heads ({kv_heads})."
            )
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    keep = None if mask is None else tensor(mask).to(torch.bool)
    if is_causal:
        causal = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        keep = causal if keep is None else keep & causal
    if attn_logits_soft_cap is None:
        attn_mask = None if bias is None else tensor(bias).to(q.dtype)
        if keep is not None:
            fill = torch.where(keep, 0.0, _large_negative(q.dtype)).to(q.dtype)
            attn_mask = fill if attn_mask is None else attn_mask + fill
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=scale)
    else:
        logits = torch.matmul(q, k.transpose(-1, -2)) * scale
        logits = torch.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
        if bias is not None:
            logits = logits + tensor(bias).to(q.dtype)
        if keep is not None:
            logits = torch.where(keep, logits, _large_negative(q.dtype))
        out = torch.matmul(torch.softmax(logits, dim=-1), v)
    out = out.transpose(1, 2)
    return out.squeeze(2) if rank == 3 else out


__all__ = [
    "dot_product_attention",
]
