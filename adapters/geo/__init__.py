"""Geocoders: a self-hosted Nominatim/Photon through geopy, or the ward centroid alone (the default, offline)."""

from adapters.geo.geocoder import CentroidGeocoder, GeopyGeocoder

__all__ = ["CentroidGeocoder", "GeopyGeocoder"]
