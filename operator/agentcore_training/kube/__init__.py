"""The one place that talks to the Kubernetes API (through kubernetes_asyncio)."""
