"""What every app Forja serves gets without a server of its own: its users and its data's rules (no services here)."""
