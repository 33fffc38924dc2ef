"""Feed aggregator and monthly digest mailer for resources on compassion and kindness in health and care."""

__version__ = "0.1.0"
