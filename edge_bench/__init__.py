"""edge-bench: resolution- and width-scaled INT8 vision models, measured on real edge devices.

Kept import-free on purpose: the device agent ships this package to boards that have no torch.
"""

__version__ = "0.1.0"
