"""Subscribers and their consent, editors' accounts, and the signed tokens in subscribers' links."""
