"""Numbers computed from tensors and tables, with no run folder: likelihood, latent health,
sample quality, table fidelity, privacy and usefulness, anomaly scores, conditional accuracy."""
