"""Setting up a clinic: organisations, doctors, appointment types, windows and overrides."""
