"""The trainer: the program in the TrainingJob's container (`agentcore-trainer`).

Real GRPO on model weights, a Decimal cost ledger that enforces the budget, atomic
checkpoints, and progress pushed to the operator. Pure modules (ledger, grpo, rewards)
import neither aiohttp, kopf nor the Kubernetes client.
"""
