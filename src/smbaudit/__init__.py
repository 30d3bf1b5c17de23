"""smbaudit: security and compliance audit scanner for small and medium businesses."""

__version__ = "0.1.0"
