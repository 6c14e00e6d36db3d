"""Response models, one module per resource. Integers that can exceed 2**53 (amounts, shares,
prices scaled by 1e18, ray fractions) are decimal strings; human prices are decimal strings."""
