"""Adapter for the one-stop dossier system: signed webhook callbacks (Standard Webhooks)."""
