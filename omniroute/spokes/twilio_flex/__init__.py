"""The built-in Twilio Flex spoke: TaskRouter tasks, reservations, workers and activities."""

from omniroute.spokes.twilio_flex.settings import TwilioFlexSettings
from omniroute.spokes.twilio_flex.spoke import TwilioFlexSpoke

__all__ = ["TwilioFlexSettings", "TwilioFlexSpoke"]
