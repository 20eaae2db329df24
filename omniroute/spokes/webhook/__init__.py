"""The built-in webhook spoke: any platform that speaks Omniroute's signed JSON protocol."""

from omniroute.spokes.webhook.settings import WebhookSettings
from omniroute.spokes.webhook.spoke import WebhookSpoke

__all__ = ["WebhookSettings", "WebhookSpoke"]
