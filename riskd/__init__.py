"""riskd: keeps Bitget margin accounts (cross and isolated) from being liquidated."""

__version__ = "0.1.0"
