"""The explicit training loop, optimizer and schedule, DeepSpeed wrapping and the run directory."""
