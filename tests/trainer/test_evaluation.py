"""Held-out evaluation in the trainer: the split is never trained on, the baseline comes
first, evaluations are on the ledger, and the best checkpoint is the best evaluation's."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agentcore_training.api.contract import ProgressState
from agentcore_training.api.evaluation_spec import EvaluationSpec
from agentcore_training.trainer.evaluation_split import split_queries
from agentcore_training.trainer.loop import run_training
from tests.trainer.conftest import addition_queries, make_spec, options_for


def _queries(count: int) -> list[dict[str, object]]:
    """`count` distinct queries: the 100 additions, then "a+b+1=" ones."""
    extra = [
        {"query": f"{a}+{b}+1=", "expected_outcome": {"answer": str(a + b + 1)}}
        for a in range(10)
        for b in range(10)
    ]
    return (addition_queries(100) + extra)[:count]


def test_the_trainer_never_samples_a_held_out_query(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10 iterations of 16 draw 160 queries: more than one epoch over the 100 training ones,
    # so every training query is drawn and none of the 25 held out.
    spec = make_spec({"nIterations": 10, "batchSize": 16, "seed": 3})
    result = run_training(options_for(tmp_path, spec, _queries(125)))
    split = split_queries(125, EvaluationSpec().held_out_count(125), seed=3)
    assert len(split.held_out) == 25
    assert result.sampled == set(split.train)
    assert result.sampled.isdisjoint(split.held_out)
    # The log says the same, batch by batch: what the operator-level test reads.
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    batches = [line["queryIndices"] for line in lines if line["event"] == "iteration"]
    assert len(batches) == 10
    assert all(len(batch) == 16 for batch in batches)
    assert {i for batch in batches for i in batch} == result.sampled
    evaluation = result.report.evaluation
    assert evaluation is not None
    assert evaluation.held_out_queries == 25


def test_baseline_then_every_interval_then_the_end_on_the_ledger(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 7, "checkpointInterval": 100})
    spec["evaluation"] = {"interval": 3}
    result = run_training(options_for(tmp_path, spec, _queries(125)))
    assert result.state is ProgressState.COMPLETED
    evaluation = result.report.evaluation
    assert evaluation is not None
    assert evaluation.history is not None
    assert evaluation.history.iterations == [0, 3, 6, 7]
    baseline, latest, best = evaluation.baseline, evaluation.latest, evaluation.best
    assert baseline is not None
    assert latest is not None
    assert best is not None
    assert baseline.iteration == 0
    assert baseline.comparison is None
    assert baseline.checkpoint_id == "ckpt-000000"
    assert latest.iteration == 7
    assert latest.comparison is not None
    assert latest.queries_evaluated == 25
    assert 0 <= latest.comparison.p_value <= 1
    # The best checkpoint is the best evaluation's, and it is kept on disk.
    assert result.report.best_checkpoint_id == best.checkpoint_id
    assert (tmp_path / "ckpt" / str(best.checkpoint_id) / "state.json").exists()
    # Every evaluation was charged: part of the run's cost, within the budget.
    assert evaluation.cost_usd is not None
    assert Decimal(0) < evaluation.cost_usd <= result.ledger.spent <= result.ledger.budget
    assert all(r.cost_usd > 0 for r in (baseline, latest))


def test_no_held_out_queries_means_no_evaluation_and_says_so(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 3, "checkpointInterval": 100})
    spec["evaluation"] = {"heldOutFraction": 0}
    result = run_training(options_for(tmp_path, spec, _queries(100)))
    evaluation = result.report.evaluation
    assert evaluation is not None
    assert evaluation.baseline is None
    assert "evaluation is off" in str(evaluation.message)
    assert len(result.sampled) == 12  # 3 x 4 draws of the first epoch: all distinct
    assert result.report.best_checkpoint_id == "ckpt-000003"  # by training reward, as before


def test_a_resumed_run_keeps_its_baseline(tmp_path: Path) -> None:
    spec = make_spec({"nIterations": 4, "checkpointInterval": 2})
    spec["evaluation"] = {"interval": 2}
    first = run_training(options_for(tmp_path, spec, _queries(125)))
    baseline = first.report.evaluation.baseline if first.report.evaluation else None
    assert baseline is not None
    # The same checkpoint directory: the finished run is resumed from its last checkpoint.
    again = run_training(options_for(tmp_path, spec, _queries(125)))
    assert again.report.evaluation is not None
    assert again.report.evaluation.baseline == baseline


def test_evaluation_queries_of_their_own_are_what_is_evaluated(tmp_path: Path) -> None:
    """spec.evaluation.queries: every training query is trained on, and the evaluations score
    the evaluation file's queries (20 of them, none of which is in the training file)."""
    spec = make_spec({"nIterations": 4, "checkpointInterval": 100, "seed": 2})
    spec["evaluation"] = {"queries": {"configMapRef": {"name": "eval-q"}}, "interval": 2}
    own = _queries(115)[100:]  # "a+b+1=": not in the training file
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text("".join(json.dumps(q) + "\n" for q in own))
    result = run_training(
        options_for(tmp_path, spec, addition_queries(100), eval_queries_file=eval_file)
    )
    assert result.state is ProgressState.COMPLETED
    evaluation = result.report.evaluation
    assert evaluation is not None
    assert evaluation.held_out_queries == 15
    assert evaluation.history is not None
    assert evaluation.history.iterations == [0, 2, 4]
    assert evaluation.latest is not None
    assert evaluation.latest.queries_evaluated == 15
    # 4 iterations x 4 queries draw 16 of the first epoch over all 100: none was held out.
    assert len(result.sampled) == 16
    assert result.sampled <= set(range(100))
