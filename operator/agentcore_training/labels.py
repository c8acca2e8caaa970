"""Labels, annotations and names shared by the operator, the dev runner and the shim (pure)."""

from __future__ import annotations

from agentcore_training.api.resource import GROUP

# On the Job, its Pods and the queries ConfigMap.
JOB_ID = f"{GROUP}/job-id"  # the TrainingJob's uid
TRAININGJOB_NAME = f"{GROUP}/trainingjob"
AGENT_ID = f"{GROUP}/agent-id"
COMPONENT = "app.kubernetes.io/component"
MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"
TRAINER_COMPONENT = "trainer"
QUERIES_COMPONENT = "queries"
MANAGER = "agentcore-training"
KUEUE_QUEUE_NAME = "kueue.x-k8s.io/queue-name"
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
"""Set by the Job controller on each pod of an Indexed Job: the pod's index."""

# Selects every trainer Pod the operator's Jobs make (the dev runner watches these).
TRAINER_POD_SELECTOR = f"{COMPONENT}={TRAINER_COMPONENT},{MANAGED_BY}={MANAGER}"

# The audience of the trainer's projected, pod-bound ServiceAccount token: the progress
# endpoint accepts only tokens minted for it, never a general API token.
PROGRESS_TOKEN_AUDIENCE = f"progress.{GROUP}"
