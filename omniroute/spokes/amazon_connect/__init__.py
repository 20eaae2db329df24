"""The built-in Amazon Connect spoke: Omniroute's work as Connect tasks, through boto3."""

from omniroute.spokes.amazon_connect.settings import ConnectSettings
from omniroute.spokes.amazon_connect.spoke import AmazonConnectSpoke

__all__ = ["AmazonConnectSpoke", "ConnectSettings"]
