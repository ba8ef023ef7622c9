"""Kubernetes resource quantities (``200m``, ``1.5Gi``, ``1e3``) as exact decimals.

Written here rather than imported from the ``kubernetes`` client because importing ``kubernetes.utils`` pulls
in the whole API client (about half a second on every CLI start) and its parser accepts strings the API server
rejects (``NaN``, ``Infinity``). The grammar is apimachinery's ``resource.Quantity``.
"""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>[KMGTPE]i)|(?P<exponent>[eE][+-]?\d+)|(?P<decimal>[numkMGTPE]))?$"
)
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


def parse_quantity(value: str | int | float) -> Decimal:
    """``"200m"`` -> ``Decimal("0.2")``; raises ``ValueError`` on anything the API server would reject."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a quantity (e.g. 250m, 1.5, 512Mi, 1Gi)")
    number = Decimal(match["number"])
    if match["binary"]:
        return number * (2 ** _BINARY_SI[match["binary"]])
    if match["exponent"]:
        return number.scaleb(int(match["exponent"][1:]))
    if match["decimal"]:
        return number.scaleb(_DECIMAL_SI[match["decimal"]])
    return number
