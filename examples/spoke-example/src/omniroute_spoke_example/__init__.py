"""An example Omniroute spoke for Pigeon Desk, a made-up contact center with a small REST API."""

from omniroute_spoke_example.settings import PigeonSettings
from omniroute_spoke_example.spoke import PigeonSpoke

__all__ = ["PigeonSettings", "PigeonSpoke"]
