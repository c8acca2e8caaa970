"""Checkpoints of a run: what a Trainer writes and how it resumes from one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from agentcore_training.api.contract import ProgressState, checkpoint_id
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.run_state import RunState

if TYPE_CHECKING:
    from agentcore_training.trainer.trainer import Trainer


def _on_cuda(trainer: Trainer) -> bool:
    return trainer.policy.device.type == "cuda"


def save_checkpoint(trainer: Trainer, state: ProgressState) -> str:
    """Write a checkpoint of `trainer` now, choose the best one, prune; returns its id."""
    ckpt_id = checkpoint_id(trainer.iteration)
    if trainer.evaluations.book.best is not None:
        trainer.window = []  # the held-out evaluation picks the best (see _evaluate)
    elif trainer.window:
        window_mean = sum(trainer.window) / len(trainer.window)
        if trainer.best_reward is None or window_mean > trainer.best_reward:
            trainer.best_reward = window_mean
            trainer.best_checkpoint_id = ckpt_id
        trainer.window = []
    elif trainer.best_checkpoint_id is None:
        trainer.best_checkpoint_id = ckpt_id
    reference = trainer.reference if trainer.reference_saved else None

    def save_weights(directory: Path) -> None:
        trainer.policy.save(directory)
        if reference is not None:
            (directory / "reference").mkdir()
            reference.save(directory / "reference")

    run_state = RunState(
        iteration=trainer.iteration,
        total_iterations=trainer.config.n_iterations,
        data_cursor=trainer.cursor,
        state=state,
        spec_fingerprint=trainer.fingerprint,
        reference_saved=trainer.reference_saved,
        ledger=trainer.ledger,
        best_checkpoint_id=trainer.best_checkpoint_id,
        best_reward=trainer.best_reward,
        metrics=trainer.metrics,
        history=trainer.history,
        evaluation=trainer.evaluations.book.to_json(),
    )
    train_state = {
        "optimizer": trainer.optimizer.state_dict(),
        "sampling_rng": trainer.sampling.get_state(),
        "torch_rng": torch.get_rng_state(),
        # CUDA's generators drive dropout on a GPU (LoRA dropout): a resume there replays it.
        **({"cuda_rng": torch.cuda.get_rng_state_all()} if _on_cuda(trainer) else {}),
    }
    started = time.monotonic()
    trainer.store.write(ckpt_id, run_state.to_json(), train_state, save_weights)
    if trainer.rates is not None:
        trainer.rates.saw_checkpoint(time.monotonic() - started)
    previous = trainer.checkpoint_id
    trainer.checkpoint_id = ckpt_id
    trainer.store.prune([ckpt_id, previous, trainer.best_checkpoint_id])
    log(
        "info",
        "checkpoint",
        checkpointId=ckpt_id,
        bestCheckpointId=trainer.best_checkpoint_id,
        costUsd=format(trainer.ledger.spent, "f"),
    )
    return ckpt_id


def resume(trainer: Trainer, ckpt_id: str) -> None:
    """Load checkpoint `ckpt_id` into `trainer`: weights, optimizer, RNGs, ledger, cursor."""
    state = RunState.from_json(trainer.store.read_state(ckpt_id))
    if state.spec_fingerprint != trainer.fingerprint:
        raise BadInputError(
            f"checkpoint directory {trainer.options.checkpoint_dir} holds a run of another "
            "spec or other queries: use a new directory"
        )
    path = trainer.store.path_of(ckpt_id)
    trainer.reference_saved = state.reference_saved
    if trainer.config.kl_coef > 0:
        # Without a warm start the reference is the initial weights: rebuild, not store.
        trainer.reference = trainer.policy.frozen_copy()
        if trainer.reference_saved:
            trainer.reference.load(path / "reference")
    trainer.policy.load(path)
    train_state = trainer.store.read_train_state(ckpt_id)
    trainer.optimizer.load_state_dict(train_state["optimizer"])
    trainer.sampling.set_state(train_state["sampling_rng"])
    torch.set_rng_state(train_state["torch_rng"])
    cuda_rng = train_state.get("cuda_rng")
    if cuda_rng is not None and _on_cuda(trainer) and len(cuda_rng) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_rng)
    trainer.ledger = state.ledger
    trainer.iteration = state.iteration
    trainer.cursor = state.data_cursor
    trainer.history = state.history
    trainer.metrics = state.metrics
    trainer.checkpoint_id = ckpt_id
    trainer.best_checkpoint_id = state.best_checkpoint_id
    trainer.best_reward = state.best_reward
    if state.evaluation is not None:
        trainer.evaluations.book.restore(state.evaluation)
    log(
        "info",
        "resumed",
        checkpointId=ckpt_id,
        iteration=trainer.iteration,
        costUsd=format(trainer.ledger.spent, "f"),
        policy=trainer.policy.describe(),
    )
