"""Load a spec.output folder the way a user would: plain transformers (and peft for an
adapter) in a clean subprocess that never imports agentcore_training, after checking every
file against the manifest's sha256."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# Verify the manifest, then load every model it lists and generate with it.
LOADER = r"""
import hashlib, json, sys
from pathlib import Path

import torch
import transformers

root, prompt = Path(sys.argv[1]), sys.argv[2]
manifest = json.loads((root / "manifest.json").read_text())
for entry in manifest["files"]:
    data = (root / entry["path"]).read_bytes()
    assert len(data) == entry["sizeBytes"], entry["path"]
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
assert on_disk - {"manifest.json"} == {e["path"] for e in manifest["files"]}, on_disk
out = {}

def load(folder, adapter):
    if not adapter:
        return transformers.AutoModelForCausalLM.from_pretrained(folder)
    import peft  # an adapter folder: the base model plus the adapter

    base = manifest["baseModel"].removeprefix("hf:")
    plain = transformers.AutoModelForCausalLM.from_pretrained(base)
    return peft.PeftModel.from_pretrained(plain, folder)


loads = []
for entry in manifest["models"]:
    loads.append((entry["role"], entry["folder"], entry["format"] == "adapter"))
    if entry.get("mergedFolder"):
        loads.append((entry["role"] + "-merged", entry["mergedFolder"], False))
for role, name, adapter in loads:
    folder = root / name
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = load(folder, adapter)
    model.eval()
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, -1].float()
        generated = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=4,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
    top = torch.topk(logits, 5)
    out[role] = {
        "prompt_ids": ids[0].tolist(),
        "top_ids": top.indices.tolist(),
        "top_logits": top.values.tolist(),
        "new_tokens": int(generated.shape[1] - ids.shape[1]),
        "text": tokenizer.decode(generated[0, ids.shape[1]:], skip_special_tokens=True),
    }
assert "agentcore_training" not in sys.modules
print(json.dumps(out))
"""


def load_outside(root: Path, prompt: str) -> dict[str, Any]:
    """What plain transformers makes of the output folder, in a clean subprocess."""
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(root), prompt],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("AGENTCORE_")},
            "OMP_NUM_THREADS": "1",
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded
