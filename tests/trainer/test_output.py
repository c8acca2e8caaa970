"""spec.output: real runs write final and best policies that plain transformers loads.

The loading side runs in a subprocess that never imports agentcore_training: the output
must stand on its own (transformers, torch and the files, checked against the manifest).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import torch

from agentcore_training.api.contract import ProgressState
from agentcore_training.api.output import OutputManifest
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.loop import RunResult, run_loop, run_training
from agentcore_training.trainer.output import NOT_KEPT
from agentcore_training.trainer.progress import NullSink
from agentcore_training.trainer.tokenizer import CharTokenizer
from agentcore_training.trainer.trainer import Trainer
from tests.support.hf_output import load_outside
from tests.trainer.conftest import (
    make_spec,
    options_for,
    run_cli,
    sum_queries,
    write_inputs,
)


def run_with_output(
    directory: Path, spec: dict[str, Any], queries: Any = None
) -> tuple[Trainer, RunResult]:
    output_dir = directory / "pvc" / "adder" / "v1"
    options = options_for(directory, spec, queries, output_dir=output_dir)
    trainer = Trainer(options, NullSink(), threading.Event(), time.monotonic())
    trainer.start()
    return trainer, run_loop(trainer)


def last_logits(trainer: Trainer, policy: Any, prompt: str) -> torch.Tensor:
    ids = torch.tensor([policy.codec.encode(prompt)])
    with torch.no_grad():
        logits: torch.Tensor = policy.logits(ids, torch.ones_like(ids))[0, -1]
    return logits


def assert_same_top(ours: torch.Tensor, theirs: dict[str, Any], *, atol: float) -> None:
    # builtin:tiny sets PAD's logit to -1e9 in its forward; the GPT-2 export has no such
    # mask, so PAD may be among its top 5: the other tokens are compared.
    pairs = [
        (token, logit)
        for token, logit in zip(theirs["top_ids"], theirs["top_logits"], strict=True)
        if token != CharTokenizer.PAD
    ]
    top = torch.topk(ours, len(pairs))
    assert top.indices.tolist() == [token for token, _ in pairs]
    assert torch.allclose(top.values, torch.tensor([logit for _, logit in pairs]), atol=atol)


def test_a_tiny_run_writes_final_and_best_that_transformers_loads(tmp_path: Path) -> None:
    # Seed 1: its 3 iterations do not beat the baseline (seeds 1, 2, 3, 5 of 0-5 since the
    # per-group sampling noise), so best and final are two models.
    spec = make_spec({"nIterations": 3, "checkpointInterval": 1, "seed": 1})
    spec["output"] = {"claimName": "models", "path": "adder/v1"}
    trainer, result = run_with_output(tmp_path, spec)
    assert result.state is ProgressState.COMPLETED
    root = tmp_path / "pvc" / "adder" / "v1"
    manifest = OutputManifest.model_validate_json((root / "manifest.json").read_text())
    final, best = manifest.model_of("final"), manifest.model_of("best")
    assert (final.checkpoint_id, final.iteration, final.folder) == ("ckpt-000003", 3, "final")
    # Three iterations of builtin:tiny never beat the baseline on held-out sums: the best
    # is ckpt-000000, chosen by the evaluation, and gets its own folder.
    assert best.checkpoint_id == result.report.best_checkpoint_id == "ckpt-000000"
    assert (best.iteration, best.folder, best.selected_by) == (0, "best", "heldOutEvaluation")
    assert manifest.base_model == "builtin:tiny"
    assert manifest.state == "completed"
    assert manifest.iteration == 3
    assert 0 < manifest.cost_usd < result.report.cost_usd  # the write is charged after it
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]  # no leftovers

    status = result.report.output
    assert status is not None
    assert status.kept
    assert (status.claim_name, status.path) == ("models", "adder/v1")
    assert status.manifest == "adder/v1/manifest.json"
    assert status.final is not None
    assert status.best is not None
    assert (status.final.folder, status.best.folder) == ("adder/v1/final", "adder/v1/best")
    assert status.best.checkpoint_id == "ckpt-000000"

    loaded = load_outside(root, "3+4=")
    assert loaded["final"]["prompt_ids"] == trainer.policy.codec.encode("3+4=")
    assert_same_top(last_logits(trainer, trainer.policy, "3+4="), loaded["final"], atol=1e-4)
    best_policy = trainer.policy.frozen_copy()
    best_policy.load(trainer.store.path_of("ckpt-000000"))
    assert_same_top(last_logits(trainer, best_policy, "3+4="), loaded["best"], atol=1e-4)
    assert loaded["final"]["top_logits"] != loaded["best"]["top_logits"]  # two models
    assert all(loaded[role]["new_tokens"] >= 1 for role in ("final", "best"))


def test_a_cancelled_run_keeps_what_it_trained(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 3})
    spec["output"] = {"claimName": "models", "path": "adder/v1"}
    spec["cancel"] = True
    _, result = run_with_output(tmp_path, spec)
    assert result.state is ProgressState.CANCELLED
    manifest = OutputManifest.model_validate_json(
        (tmp_path / "pvc" / "adder" / "v1" / "manifest.json").read_text()
    )
    assert manifest.state == "cancelled"
    assert manifest.model_of("final").iteration == 0
    assert result.report.output is not None
    assert result.report.output.kept


def test_an_interrupted_run_leaves_the_output_to_the_pod_that_resumes(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 3})
    spec["output"] = {"claimName": "models", "path": "adder/v1"}
    stop = threading.Event()
    stop.set()
    options = options_for(tmp_path, spec, output_dir=tmp_path / "pvc" / "adder" / "v1")
    result = run_training(options, stop=stop)
    assert result.reason == "Interrupted"
    assert result.report.output is None
    assert not (tmp_path / "pvc").exists()
    resumed = run_training(options)  # the next pod: resumes, completes, writes
    assert resumed.state is ProgressState.COMPLETED
    assert (tmp_path / "pvc" / "adder" / "v1" / "manifest.json").is_file()


def test_a_rerun_replaces_the_output_whole(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 2})
    spec["output"] = {"claimName": "models", "path": "adder/v1"}
    options = options_for(tmp_path, spec, output_dir=tmp_path / "pvc" / "adder" / "v1")
    run_training(options)
    root = tmp_path / "pvc" / "adder" / "v1"
    (root / "final" / "stray.txt").write_text("from an older output")
    first = OutputManifest.model_validate_json((root / "manifest.json").read_text())
    run_training(options)  # resumes the completed run: it ends again and rewrites
    second = OutputManifest.model_validate_json((root / "manifest.json").read_text())
    assert second.created_at > first.created_at
    assert not (root / "final" / "stray.txt").exists()
    assert sorted(p.name for p in (tmp_path / "pvc" / "adder").iterdir()) == ["v1"]


def test_without_spec_output_the_status_says_nothing_was_kept(tmp_path: Path) -> None:
    result = run_training(options_for(tmp_path, make_spec({"nIterations": 1})))
    assert result.report.output is not None
    assert result.report.output.kept is False
    assert result.report.output.message == NOT_KEPT


def test_the_end_reserve_holds_the_output(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 1})
    spec["output"] = {"claimName": "models", "path": "adder/v1"}
    with_output = Trainer(
        options_for(tmp_path / "a", spec, output_dir=tmp_path / "out"),
        NullSink(),
        threading.Event(),
        time.monotonic(),
    )
    without = Trainer(
        options_for(tmp_path / "b", make_spec({"nIterations": 1})),
        NullSink(),
        threading.Event(),
        time.monotonic(),
    )
    with_output.start()
    without.start()
    assert with_output.gate is not None
    assert without.gate is not None
    assert with_output.rates is not None
    assert with_output.rates.output_s > 0
    assert with_output.gate.end_reserve().seconds > without.gate.end_reserve().seconds


def test_spec_output_without_an_output_directory_is_bad_input(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 1})
    spec["output"] = {"claimName": "models", "path": "adder/v1"}
    spec_path, queries_path = write_inputs(tmp_path, spec)
    done = run_cli(
        ["--spec", str(spec_path), "--queries", str(queries_path)],
        AGENTCORE_CHECKPOINT_DIR=str(tmp_path / "ckpt"),
        AGENTCORE_TERMINATION_LOG=str(tmp_path / "termination"),
    )
    assert done.returncode == BadInputError.exit_code
    assert "spec.output is set but there is no output directory" in done.stderr


def test_a_smollm2_run_writes_an_hf_folder_that_transformers_generates_with(
    smollm2: Path, tmp_path: Path
) -> None:
    spec = make_spec(
        {
            "nIterations": 1,
            "batchSize": 1,
            "nTrajectoriesPerQuery": 2,
            "maxNewTokens": 4,
            "learningRate": 1e-5,
        },
        policy={"model": f"hf:{smollm2}"},
        reward={"type": "numeric"},
    )
    spec["evaluation"] = {"heldOutFraction": 0}  # the output is the subject
    spec["output"] = {"claimName": "models", "path": "adder/v1"}
    trainer, result = run_with_output(tmp_path, spec, sum_queries(4))
    assert result.state is ProgressState.COMPLETED
    root = tmp_path / "pvc" / "adder" / "v1"
    manifest = OutputManifest.model_validate_json((root / "manifest.json").read_text())
    assert manifest.base_model == f"hf:{smollm2}"
    # One checkpoint: the best is the final one, and shares its folder.
    assert manifest.model_of("best").folder == "final"
    assert manifest.model_of("best").selected_by == "trainingReward"
    assert not (root / "best").exists()
    assert {"final/config.json", "final/model.safetensors", "final/tokenizer.json"} <= {
        f.path for f in manifest.files
    }
    loaded = load_outside(root, "What is 2+3?")
    assert loaded["final"]["prompt_ids"] == trainer.policy.codec.encode("What is 2+3?")
    assert_same_top(
        last_logits(trainer, trainer.policy, "What is 2+3?"), loaded["final"], atol=1e-3
    )
    assert loaded["final"]["new_tokens"] >= 1
    assert loaded["best"] == loaded["final"]


def test_a_lora_run_writes_an_adapter_and_merged_weights(smollm2: Path, tmp_path: Path) -> None:
    spec = make_spec(
        {
            "nIterations": 1,
            "batchSize": 1,
            "nTrajectoriesPerQuery": 2,
            "maxNewTokens": 4,
            "learningRate": 1e-3,
        },
        policy={"model": f"hf:{smollm2}", "lora": {"rank": 4, "alpha": 8}},
        reward={"type": "numeric"},
    )
    spec["evaluation"] = {"heldOutFraction": 0}
    spec["output"] = {"claimName": "models", "path": "adder/v1", "merge": True}
    trainer, result = run_with_output(tmp_path, spec, sum_queries(4))
    assert result.state is ProgressState.COMPLETED
    root = tmp_path / "pvc" / "adder" / "v1"
    manifest = OutputManifest.model_validate_json((root / "manifest.json").read_text())
    final = manifest.model_of("final")
    assert (final.format, final.merged_folder) == ("adapter", "final-merged")
    paths = {f.path for f in manifest.files}
    assert {"final/adapter_config.json", "final/adapter_model.safetensors"} <= paths
    assert "final/model.safetensors" not in paths  # the adapter only, not the base again
    assert "final-merged/model.safetensors" in paths
    status = result.report.output
    assert status is not None
    assert status.format == "adapter"
    assert status.final is not None
    assert status.final.merged_folder == "adder/v1/final-merged"
    loaded = load_outside(root, "What is 2+3?")
    ours = last_logits(trainer, trainer.policy, "What is 2+3?")
    assert_same_top(ours, loaded["final"], atol=1e-3)  # base + adapter, through peft
    assert_same_top(ours, loaded["final-merged"], atol=1e-3)  # merged, plain transformers
    assert loaded["final-merged"]["new_tokens"] >= 1
