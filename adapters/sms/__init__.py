"""SMS gateways behind ``postal_bridge.domain.ports.SmsGateway``: eSMS, SpeedSMS and the console (demo)."""
