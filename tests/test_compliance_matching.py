"""Policy-element decisions: wording variants count; negations and passing mentions do not."""

from __future__ import annotations

import pytest

from smbaudit.compliance.documents import markdown_blocks, passages, text_blocks
from smbaudit.compliance.matcher import decide
from smbaudit.compliance.model import PolicyElement

ENC_REST = PolicyElement("enc", "ePHI at rest is encrypted", (
    ("encrypt*", "bitlocker", "filevault", "full-disk encryption"),
    ("rest", "stored", "laptop*", "disk*", "backup*", "database*")))
PASSWORDS = PolicyElement("pw", "passwords are safeguarded", (
    ("password*",), ("share*", "sharing", "length", "characters")), allow_prohibition=True)
LOG_REVIEW = PolicyElement("logs", "audit logs are reviewed regularly", (
    ("audit log*", "log*"), ("review*",), ("weekly", "daily", "monthly", "regular*")))


def _decide(element: PolicyElement, text: str, md: bool = True):
    blocks = markdown_blocks(text) if md else text_blocks(text)
    return decide(element, list(passages("doc", blocks)))


@pytest.mark.parametrize("text", [
    "All laptops are encrypted with BitLocker.",
    "We encrypt every database that stores patient records.",
    "Backups must be encrypted before they leave the building.",
    "Full-disk encryption is required on all laptops.",
    "Laptops: must use full-disk encryption (FileVault on Macs).",
    "Data stored on servers is always encrypted at rest using AES-256.",
])
def test_wording_variants_are_covered(text: str) -> None:
    m = _decide(ENC_REST, text)
    assert m.covered, m.rejected
    assert m.passage is not None and m.passage.source == "doc:line 1"


@pytest.mark.parametrize("text", [
    "We do not encrypt laptops.",
    "Encryption of backups is not required.",
    "Laptops are not currently encrypted.",
    "No encryption is performed on stored data.",
    "Staff laptops are used without encryption.",
    "We don't encrypt the database, because it is on site.",
    "Encryption of laptops is not applicable to our practice.",
])
def test_negations_are_not_covered(text: str) -> None:
    m = _decide(ENC_REST, text)
    assert not m.covered
    assert m.rejected and "negated" in m.rejected[0][1]


@pytest.mark.parametrize("text,why", [
    ("This policy covers encryption of laptops, backups and e-mail.", "passing"),
    ("Training topics include phishing, passwords, laptop encryption and incident reporting.",
     ""),
    ("We plan to encrypt all laptops next year.", "planned"),
    ("Staff may encrypt laptops if they wish.", "permissive"),
    ("Is laptop encryption required?", "question"),
    ("Encryption requirements for laptops are described in the Encryption Standard.", "passing"),
])
def test_passing_mentions_and_plans_are_not_covered(text: str, why: str) -> None:
    m = _decide(ENC_REST, text)
    assert not m.covered, m.passage
    assert m.rejected and why in m.rejected[0][1]


def test_heading_without_body_is_not_coverage() -> None:
    assert not _decide(ENC_REST, "# Policy\n\n## Laptop encryption\n\n## Backups\n").covered


def test_topics_list_items_are_passing_mentions() -> None:
    text = "# Training\n\nThe course covers the following topics:\n\n- laptop encryption\n- passwords\n"
    m = _decide(ENC_REST, text)
    assert not m.covered and "topic" in m.rejected[0][1]


def test_list_item_inherits_the_obligation_of_its_lead_in() -> None:
    text = "All laptops must:\n\n- use full-disk encryption\n- lock after 10 minutes\n"
    m = _decide(ENC_REST, text)
    assert m.covered and m.passage.text.startswith("All laptops must:")


def test_heading_supplies_one_group() -> None:
    text = "# Audit log review\n\nThe practice manager reviews them weekly.\n"
    assert _decide(LOG_REVIEW, text).covered
    # but a heading alone never supplies two groups
    assert not _decide(LOG_REVIEW, "# Weekly audit log review\n\nWe do this.\n").covered


def test_prohibition_elements_accept_must_not() -> None:
    assert _decide(PASSWORDS, "Passwords must never be shared with anyone.").covered
    assert _decide(PASSWORDS, "Do not share your password.").covered
    assert not _decide(ENC_REST, "Laptops must not be encrypted with personal keys.").covered


def test_conditions_are_not_negations() -> None:
    assert _decide(ENC_REST, "No laptop is issued until full-disk encryption is enabled.").covered
    assert _decide(LOG_REVIEW, "Audit logs are reviewed weekly, no later than each Friday.").covered


def test_table_rows_count_but_no_and_na_cells_do_not() -> None:
    table = ("| Control | Status |\n|---|---|\n| Laptop encryption (BitLocker) | In place |\n")
    assert _decide(ENC_REST, table).covered
    table_no = ("| Control | Status |\n|---|---|\n| Laptop encryption (BitLocker) | No |\n")
    m = _decide(ENC_REST, table_no)
    assert not m.covered and "table row" in m.rejected[0][1]


def test_plain_text_document() -> None:
    text = "3.1 ENCRYPTION\n\nAll laptops are encrypted with BitLocker.\n"
    m = _decide(ENC_REST, text, md=False)
    assert m.covered and m.passage.headings == ("3.1 ENCRYPTION",)
