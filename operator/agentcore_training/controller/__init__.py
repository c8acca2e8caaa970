"""The operator: kopf handlers (thin) over pure builders and phase logic."""
