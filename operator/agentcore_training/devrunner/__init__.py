"""The dev runner: a development stand-in for a kubelet that runs trainer Pods locally.

Where no kubelet exists (the loopback control plane of the tests and `make cluster-up`),
it watches Pending Pods matching `labels.TRAINER_POD_SELECTOR`, runs their single
container's command as a local process and writes the Pod status as a kubelet would.
See docs/dev-runner.md. Pure parts: `podspec` (Pod -> LocalProcessPlan) and `status`
(status builders); I/O: `sandbox`, `process`, `podrun`, `runner`, `main`.
"""
