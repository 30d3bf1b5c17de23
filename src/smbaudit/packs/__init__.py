"""Check packs: loading, validation and selection."""
