"""Environments the agent acts in: single_turn, calculator, or a user's Python entry point.

Pure modules (no torch, no Kubernetes): the rollout in `trainer/episodes.py` drives them.
"""
