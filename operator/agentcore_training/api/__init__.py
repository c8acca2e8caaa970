"""The TrainingJob API as pydantic models: pure, no I/O, no Kubernetes client."""
