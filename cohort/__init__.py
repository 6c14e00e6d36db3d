"""Cohort's shared Python module.

One place for contract access, ABIs, deployment manifests, signal types and signing. The
keeper, the API, the scripts and the tests all import it; none keeps a second copy of an ABI
or a type hash.

Three parts, importing one way (`tests/test_layers.py` checks it): the SDK (the modules here),
devnet tooling in `cohort.dev` (uses the SDK), and the `cohort` command in `cohort.cli` (uses
both). Value moves only through the SDK, `cohort.vault.Vault` first.
"""

from cohort.errors import CohortError

__all__ = ["CohortError"]
__version__ = "0.1.0"
