"""Loading a transformers causal LM from a local folder or GGUF file: device and dtype.

Offline only: HF_HUB_OFFLINE is forced on before transformers is imported. A GGUF file is
dequantized to dense weights by transformers; the quantizer it leaves behind is dropped,
so the model saves with save_pretrained like any other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from agentcore_training.api.policy import PolicyDtype
from agentcore_training.trainer import distributed
from agentcore_training.trainer.errors import BadInputError

DTYPES: dict[PolicyDtype, torch.dtype] = {
    PolicyDtype.FLOAT32: torch.float32,
    PolicyDtype.BFLOAT16: torch.bfloat16,
    PolicyDtype.FLOAT16: torch.float16,
}


def pick_device() -> torch.device:
    """CUDA when this process sees a GPU, else the CPU. Under torchrun each process of a
    pod takes its own GPU: the one of its LOCAL_RANK (one process per GPU)."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    if distributed.launched_world_size() > 1:
        return torch.device("cuda", distributed.local_rank() % torch.cuda.device_count())
    return torch.device("cuda")


def pick_dtype(name: PolicyDtype, device: torch.device) -> torch.dtype:
    """`auto`: bfloat16 on a GPU that supports it, else float32; or the named dtype."""
    if name is not PolicyDtype.AUTO:
        return DTYPES[name]
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def resolve(path: Path) -> tuple[Path, str | None]:
    """A model folder, or a .gguf file (or a folder holding exactly one)."""
    if path.is_file():
        if path.suffix != ".gguf":
            raise BadInputError(f"model path {path} is a file but not a .gguf file")
        return path.parent, path.name
    ggufs = sorted(path.glob("*.gguf"))
    if not (path / "config.json").is_file() and len(ggufs) == 1:
        return path, ggufs[0].name
    return path, None


def _transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers  # optional extra, imported on use
    except ImportError:
        raise BadInputError(
            "policy hf:<path> needs transformers: install agentcore-training[hf]"
        ) from None
    # Progress bars are terminal noise in a pod's log of JSON lines.
    logging: Any = transformers.utils.logging  # untyped in transformers
    logging.disable_progress_bar()
    return transformers


def drop_gguf_quantizer(model: Any) -> None:
    """Make a GGUF-loaded model saveable: its weights are dense, the quantizer is stale."""
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def load_pretrained(
    path: Path, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> tuple[Any, Any]:
    """(tokenizer, model) from a folder or a .gguf file, on `device`, in `dtype`."""
    transformers = _transformers()
    if not path.exists():
        raise BadInputError(f"model path {path} does not exist")
    folder, gguf_file = resolve(path)
    kwargs: dict[str, Any] = {"local_files_only": True}
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), **kwargs)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(folder), dtype=dtype, **kwargs
        )
    except (OSError, ValueError, ImportError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise BadInputError(f"cannot load a causal LM from {path}: {first}") from None
    if gguf_file is not None:
        drop_gguf_quantizer(model)
    if device is not None and device.type != "cpu":
        model.to(device)
    return tokenizer, model
