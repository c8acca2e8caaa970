"""Export builtin:tiny as a transformers GPT-2 folder (weights and a char tokenizer).

The tiny model is GPT-2-shaped, so the export is exact (same logits, see the tests). It
lets a trained tiny policy run as hf:<folder>, and gives the TRL baseline of the benchmark
the very same model. Needs transformers (the `hf` extra); imported on use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from agentcore_training.trainer.policy.tiny import TinyPolicy

PAD_TOKEN = "<pad>"  # noqa: S105 - a token of the vocabulary, not a secret
EOS_TOKEN = "<eos>"  # noqa: S105


def char_tokenizer_fast(alphabet: str) -> Any:
    """A transformers fast tokenizer with the tiny model's ids: PAD 0, EOS 1, then chars."""
    import transformers
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    vocab = {PAD_TOKEN: 0, EOS_TOKEN: 1, **{c: i + 2 for i, c in enumerate(alphabet)}}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=PAD_TOKEN))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    fast: Any = transformers.PreTrainedTokenizerFast  # untyped in transformers
    return fast(tokenizer_object=backend, pad_token=PAD_TOKEN, eos_token=EOS_TOKEN)


def tiny_to_gpt2(policy: TinyPolicy) -> tuple[Any, Any]:
    """(GPT2LMHeadModel, tokenizer) with the tiny policy's weights."""
    import transformers

    config = policy.model.config
    gpt2_config = transformers.GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.max_context,
        n_embd=config.d_model,
        n_layer=config.n_layers,
        n_head=config.n_heads,
        n_inner=config.mlp_ratio * config.d_model,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=1e-5,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
        tie_word_embeddings=True,
    )
    model = transformers.GPT2LMHeadModel(gpt2_config)
    ours = policy.model.state_dict()
    theirs: dict[str, torch.Tensor] = {
        "transformer.wte.weight": ours["wte.weight"],
        "transformer.wpe.weight": ours["wpe.weight"],
        "transformer.ln_f.weight": ours["ln_f.weight"],
        "transformer.ln_f.bias": ours["ln_f.bias"],
        "lm_head.weight": ours["wte.weight"],
    }
    for i in range(config.n_layers):
        ours_prefix, prefix = f"blocks.{i}.", f"transformer.h.{i}."
        for name in ("ln_1", "ln_2"):
            for kind in ("weight", "bias"):
                theirs[f"{prefix}{name}.{kind}"] = ours[f"{ours_prefix}{name}.{kind}"]
        # GPT-2's Conv1D stores weights as [in, out]: the transpose of nn.Linear's.
        for mine, their_name in (
            ("qkv", "attn.c_attn"),
            ("proj", "attn.c_proj"),
            ("fc", "mlp.c_fc"),
            ("out", "mlp.c_proj"),
        ):
            theirs[f"{prefix}{their_name}.weight"] = ours[f"{ours_prefix}{mine}.weight"].T
            theirs[f"{prefix}{their_name}.bias"] = ours[f"{ours_prefix}{mine}.bias"]
    missing, unexpected = model.load_state_dict(theirs, strict=False)
    real_missing = [m for m in missing if not m.endswith("attn.bias") and "masked_bias" not in m]
    if real_missing or unexpected:
        raise RuntimeError(f"GPT-2 export mismatch: missing {real_missing}, extra {unexpected}")
    return model, char_tokenizer_fast(policy.tokenizer.alphabet)


def export_tiny(policy: TinyPolicy, folder: Path) -> Path:
    """Write the tiny policy as a GPT-2 folder that hf:<folder> loads."""
    model, tokenizer = tiny_to_gpt2(policy)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder
