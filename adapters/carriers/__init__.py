"""Courier adapters behind one interface (``base.CarrierAdapterBase``); the registry lives in ``bootstrap``."""
