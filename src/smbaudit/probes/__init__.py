"""Probe plugins: collect facts from targets."""
