"""Our AdamW makes the same updates as torch.optim.AdamW, and its state round-trips."""

from __future__ import annotations

import torch

from agentcore_training.trainer.optim import AdamW


def test_matches_torch_adamw() -> None:
    torch.manual_seed(0)
    ours_model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2))
    theirs_model = torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2)
    )
    theirs_model.load_state_dict(ours_model.state_dict())
    ours = AdamW(ours_model.parameters(), lr=1e-2, weight_decay=0.1)
    theirs = torch.optim.AdamW(theirs_model.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(5):
        x = torch.randn(3, 5)
        for model, optimizer in ((ours_model, ours), (theirs_model, theirs)):
            optimizer.zero_grad()
            torch.autograd.backward(model(x).pow(2).sum())
            optimizer.step()
    for a, b in zip(ours_model.parameters(), theirs_model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_state_round_trip() -> None:
    model = torch.nn.Linear(3, 1)
    optimizer = AdamW(model.parameters(), lr=0.1)
    torch.autograd.backward(model(torch.ones(1, 3)).sum())
    optimizer.step()
    other = AdamW(model.parameters(), lr=0.1)
    other.load_state_dict(optimizer.state_dict())
    assert other.steps == 1
    assert all(torch.equal(a, b) for a, b in zip(other.exp_avg, optimizer.exp_avg, strict=True))
