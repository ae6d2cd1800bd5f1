"""The names of the pictures ``vaekit plot`` draws, apart from the drawing code so the
command line can list them without importing matplotlib (half a second of every command)."""

KINDS = (
    "curves",
    "recon",
    "samples",
    "latent",
    "manifold",
    "interpolate",
    "traverse",
    "kl",
    "compare",
    "scores",
    "conditional",
    "restyle",
    "marginals",
    "pairs",
    "factors",
)
