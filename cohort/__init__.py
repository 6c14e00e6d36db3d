"""Cohort's shared Python module.

One place for contract access, ABIs, deployment manifests, signal types and signing. The
keeper, the API, the scripts and the tests all import it; none keeps a second copy of an ABI
or a type hash.
"""

from cohort.errors import CohortError

__all__ = ["CohortError"]
__version__ = "0.1.0"
