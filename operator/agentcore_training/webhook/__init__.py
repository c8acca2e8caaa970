"""The validating admission webhook: checks what the CRD schema cannot."""
