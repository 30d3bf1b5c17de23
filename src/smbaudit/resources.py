"""Finds the shipped data folders: inside the installed package, or at the checkout root."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent.parent / name  # src/smbaudit -> repo root (editable install)
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"smbaudit data folder {name!r} not found (broken install?)")


def checks_dir() -> Path:
    return _data_dir("checks")


def policies_dir() -> Path:
    return _data_dir("policies")


def reports_dir() -> Path:
    return _data_dir("reports")


def data_file(*parts: str) -> Path:
    """A shipped data table (EOL dates, vulnerable versions...) kept under checks/data/."""
    return checks_dir().joinpath("data", *parts)
