"""agentcore-training: a Kubernetes operator that trains LLM agents with GRPO."""

__version__ = "0.1.0"
