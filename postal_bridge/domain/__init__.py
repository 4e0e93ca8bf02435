"""Pure domain: stdlib only. Consignments, their lifecycle, value objects and the ports the services need."""
