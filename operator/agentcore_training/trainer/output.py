"""spec.output: the trained model, written at the end of a run as Hugging Face folders.

The final policy goes to `final/`, the best checkpoint's (loaded back from the checkpoint
store) to `best/` unless it is the final one, and `manifest.json` lists every file with its
sha256 (api/output.py). Everything is written under a temporary name beside the target,
fsynced and renamed into place: a folder with the target's name is always complete.
builtin:tiny is written as a GPT-2 folder (policy/export.py), so every output loads with
plain transformers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agentcore_training.api.contract import ProgressState
from agentcore_training.api.output import (
    BEST_FOLDER,
    FINAL_FOLDER,
    MANIFEST_FILE,
    MERGED_SUFFIX,
    ManifestFile,
    ManifestModel,
    ModelFormat,
    OutputManifest,
)
from agentcore_training.api.status import OutputModelStatus, OutputStatus
from agentcore_training.trainer.checkpoint import fsync_path, fsync_tree
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.evaluation_book import metric_value
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.policy.tiny import TinyPolicy
from agentcore_training.trainer.run_state import RunState

if TYPE_CHECKING:
    from agentcore_training.trainer.trainer import Trainer

WRITTEN_STATES = (ProgressState.COMPLETED, ProgressState.BUDGET_EXHAUSTED, ProgressState.CANCELLED)
"""Ends that write the output. A cancel keeps what was trained so far (the user stopped to
keep it); an interrupted run does not, since a new pod resumes it and writes at its end."""

NOT_KEPT = "no spec.output: the trained model was not kept (only the run's checkpoints)"
_CHUNK = 1 << 20


def prepare_output(output_dir: Path | None, model: str) -> None:
    """Before any spend: an output needs transformers (to write HF folders). What the export
    uses is imported now, so that its slow first import (GPT-2's classes: half a minute on a
    busy node) is not left to the end, where only the end reserve is left to pay for it."""
    if output_dir is None:
        return
    if importlib.util.find_spec("transformers") is None:
        raise BadInputError(
            "spec.output needs transformers to write Hugging Face folders: install "
            "agentcore-training[hf] in the trainer image"
        )
    import transformers

    if model.startswith("builtin:"):  # written as GPT-2 (policy/export.py)
        _ = transformers.GPT2LMHeadModel, transformers.PreTrainedTokenizerFast


def export_policy(policy: Policy, folder: Path, *, merge: bool) -> tuple[ModelFormat, bool]:
    """Write `policy` as a Hugging Face folder that plain transformers (peft for an adapter)
    loads; with `merge` and a LoRA policy, the merged weights too, in `<folder>-merged`.
    Returns the folder's format and whether a merged folder was written."""
    if isinstance(policy, TinyPolicy):
        from agentcore_training.trainer.policy.export import export_tiny  # needs transformers

        export_tiny(policy, folder)
        return "full", False
    from agentcore_training.trainer.policy.hf import HFPolicy

    if not isinstance(policy, HFPolicy):
        raise TypeError(f"cannot export a {type(policy).__name__} as a Hugging Face folder")
    policy.save_pretrained(folder)
    if not policy.lora:
        return "full", False
    if merge:
        policy.save_pretrained(folder.with_name(folder.name + MERGED_SUFFIX), merge=True)
    return "adapter", merge


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(root: Path) -> list[ManifestFile]:
    """Every file under `root` but the manifest, sorted, with size and sha256."""
    return [
        ManifestFile(
            path=path.relative_to(root).as_posix(),
            size_bytes=path.stat().st_size,
            sha256=sha256_of(path),
        )
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).as_posix() != MANIFEST_FILE
    ]


def _best_choice(trainer: Trainer) -> tuple[str, float | None]:
    book = trainer.evaluations.book
    if book.best is not None:
        return "heldOutEvaluation", metric_value(book.best.metrics, book.metric)
    return "trainingReward", trainer.best_reward


def _replace(temporary: Path, target: Path) -> None:
    """Rename `temporary` to `target`, swapping out an older output of the same name."""
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        target.rename(old)
        temporary.rename(target)
        shutil.rmtree(old)
    else:
        temporary.rename(target)
    fsync_path(target.parent)


def _model_status(
    where: str, ckpt_id: str, iteration: int, folder: str, *, merged: bool
) -> OutputModelStatus:
    return OutputModelStatus(
        checkpoint_id=ckpt_id,
        iteration=iteration,
        folder=f"{where}/{folder}",
        merged_folder=f"{where}/{folder}{MERGED_SUFFIX}" if merged else None,
    )


def write_output(trainer: Trainer, state: ProgressState) -> OutputStatus:
    """Write final and best policies plus the manifest to options.output_dir; say where."""
    target = trainer.options.output_dir
    assert target is not None
    assert trainer.checkpoint_id is not None
    spec = trainer.spec.output
    merge = spec.merge if spec is not None else False
    final_id = trainer.checkpoint_id
    best_id = trainer.best_checkpoint_id or final_id
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    if temporary.exists():
        shutil.rmtree(temporary)
    temporary.mkdir()
    model_format, merged = export_policy(trainer.policy, temporary / FINAL_FOLDER, merge=merge)
    best_iteration, best_folder = trainer.iteration, FINAL_FOLDER
    if best_id != final_id:
        # The run is over: the policy itself takes the best weights for the export (no
        # second copy in memory), then the final ones back from their checkpoint.
        trainer.policy.load(trainer.store.path_of(best_id))
        best_iteration = RunState.from_json(trainer.store.read_state(best_id)).iteration
        best_folder = BEST_FOLDER
        export_policy(trainer.policy, temporary / BEST_FOLDER, merge=merge)
        trainer.policy.load(trainer.store.path_of(final_id))
    selected_by, score = _best_choice(trainer)
    manifest = OutputManifest(
        job_id=trainer.options.job_id,
        agent_id=trainer.spec.agent_id,
        base_model=trainer.spec.policy.model,
        state=state.value,
        iteration=trainer.iteration,
        total_iterations=trainer.config.n_iterations,
        cost_usd=trainer.ledger.spent,
        budget_usd=trainer.ledger.budget,
        metrics=trainer.metrics,
        created_at=datetime.now(UTC),
        models=[
            ManifestModel(
                role="final",
                checkpoint_id=final_id,
                iteration=trainer.iteration,
                folder=FINAL_FOLDER,
                merged_folder=FINAL_FOLDER + MERGED_SUFFIX if merged else None,
                format=model_format,
                selected_by="latest",
            ),
            ManifestModel(
                role="best",
                checkpoint_id=best_id,
                iteration=best_iteration,
                folder=best_folder,
                merged_folder=best_folder + MERGED_SUFFIX if merged else None,
                format=model_format,
                selected_by=selected_by,
                score=score,
            ),
        ],
        files=list_files(temporary),
    )
    (temporary / MANIFEST_FILE).write_text(
        manifest.model_dump_json(by_alias=True, indent=1), encoding="utf-8"
    )
    fsync_tree(temporary)
    _replace(temporary, target)
    where = spec.path if spec is not None else str(target)
    log(
        "info",
        "output",
        path=str(target),
        finalCheckpointId=final_id,
        bestCheckpointId=best_id,
        files=len(manifest.files),
        bytes=manifest.total_bytes,
    )
    return OutputStatus(
        kept=True,
        claim_name=spec.claim_name if spec is not None else None,
        path=where,
        manifest=f"{where}/{MANIFEST_FILE}",
        format=model_format,
        final=_model_status(where, final_id, trainer.iteration, FINAL_FOLDER, merged=merged),
        best=_model_status(where, best_id, best_iteration, best_folder, merged=merged),
        message=(
            f"final ({final_id}) and best ({best_id}) policies written as Hugging Face "
            f"folders to {where}"
        ),
    )
