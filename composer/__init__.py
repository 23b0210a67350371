"""weekly: compose and send the Digital Watch weekly newsletter (DW Weekly)."""

__version__ = "0.1.0"
