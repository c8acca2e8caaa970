"""Policy backends: builtin:<name> (a tiny causal LM) and hf:<path> (transformers)."""
