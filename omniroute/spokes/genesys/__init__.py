"""The built-in Genesys Cloud spoke."""

from omniroute.spokes.genesys.settings import GenesysSettings
from omniroute.spokes.genesys.spoke import GenesysSpoke

__all__ = ["GenesysSettings", "GenesysSpoke"]
