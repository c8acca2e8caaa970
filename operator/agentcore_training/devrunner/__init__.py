"""The dev runner: a development stand-in for a kubelet that runs trainer Pods locally.

Where no kubelet exists (the loopback control plane of the tests and `make cluster-up`),
it watches Pending Pods matching `labels.TRAINER_POD_SELECTOR`, runs their single
container's command as a local process and writes the Pod status as a kubelet would.
See docs/dev-runner.md. Pure parts: `podspec` (Pod -> LocalProcessPlan, from `podmodel`'s
types, `podenv`'s environment and `podvolumes`' files), `status` (status builders) and
`settings`; I/O: `sandbox`, `process`, `podapi`, `podrun`, `runner`, `main`.
"""
