"""Evaluations behind ``bohsense models eval …``; each returns a JSON-compatible dict."""
