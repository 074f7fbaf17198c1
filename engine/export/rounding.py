"""``round(value, places)`` of a whole float array, equal to Python's value for value.

Python rounds the float's exact value half to even and reads the decimal back: the double
nearest to ``k / 10**places``. numpy's ``rint(x * 10**places)`` finds the same ``k`` unless the
product's own rounding error could carry it across a half (the product lies that close to
one: rare); those values, and the non-finite and huge ones, are rounded by Python.
"""

from __future__ import annotations

import numpy as np

#: products at least this large are left to Python (their fraction is not known well enough)
_LARGEST_PRODUCT = 2.0**50


def rounded(values: np.ndarray, places: int) -> np.ndarray:
    """``[round(v, places) for v in values]`` as a float64 array (NaN stays NaN)."""
    x = np.asarray(values, dtype=np.float64)
    scale = 10.0**places
    with np.errstate(all="ignore"):
        product = x * scale
        k = np.rint(product)
        out = k / scale
        # the product is within |product| * 2**-53 of x * 10**places
        from_half = np.abs(product - np.floor(product) - 0.5)
        sure = (np.abs(product) < _LARGEST_PRODUCT) & (from_half > np.abs(product) * 2.0**-51)
    unsure = np.flatnonzero(~sure)
    if unsure.size:
        out[unsure] = [round(v, places) for v in x[unsure].tolist()]
    return out
