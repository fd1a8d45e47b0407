"""`privacy-gateway rules check|explain` through the real command line entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from tests.policy.conftest import RULES_FILE


def test_check_ok(capsys: pytest.CaptureFixture) -> None:
    assert main(["rules", "check", str(RULES_FILE)]) == 0
    assert "ok (9 classes, 2 tables" in capsys.readouterr().out


def test_check_notes_a_scan_only_the_gateway_can_do(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    names = tmp_path / "names.yaml"
    names.write_text(RULES_FILE.read_text().replace(
        "scan: [CN_MOBILE,", "scan: [CN_PERSON_NAME, CN_MOBILE,"))
    assert main(["rules", "check", str(names)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (f"{names}: note: class free_text scans for CN_PERSON_NAME, which only "
                      "the gateway's detector finds: where the database masks the text "
                      "(WHERE, ORDER BY, GROUP BY, COPY, cursors) it is not shown")
    assert main(["rules", "check", str(RULES_FILE)]) == 0
    assert "note:" not in capsys.readouterr().out


def test_check_reports_file_line_reason(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES_FILE.read_text().replace("phone: mobile", "phone: cellphone"))
    assert main(["rules", "check", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{bad}:19: table 'public.customers': column 'phone' names unknown class "
                   "'cellphone'"]


def test_check_against_the_database(crm_dsn: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["rules", "check", str(RULES_FILE), "--upstream", crm_dsn]) == 0


def test_check_finds_missing_columns_and_unfit_masks(crm_dsn: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    text = RULES_FILE.read_text().replace("card_no: bank_card", "card_no: bank_card\n"
                                          "      total: mobile\n      fax: mobile")
    bad.write_text(text)
    assert main(["rules", "check", str(bad), "--upstream", crm_dsn]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:32: mask keep of class mobile does not fit public.orders.total" in out
    assert f"{bad}:33: column public.orders.fax not found in the database" in out


def _explained(capsys: pytest.CaptureFixture, sql: str) -> str:
    """What `rules explain` prints for sql under customer_service (allowed)."""
    assert main(["rules", "explain", "--rules", str(RULES_FILE), "--purpose",
                 "customer_service", sql]) == 0
    return capsys.readouterr().out


def test_explain_prints_rewrite_and_decisions(capsys: pytest.CaptureFixture) -> None:
    out = _explained(capsys, "SELECT name, phone FROM customers WHERE phone = $1")
    assert "public.customers.phone: class mobile -> mask (lookup" in out
    assert "public.customers.name: class person_name -> show" in out
    assert '"phone" = $1' in out


def test_explain_names_what_the_gateway_masks_itself(capsys: pytest.CaptureFixture) -> None:
    out = _explained(capsys, "SELECT name, phone, notes FROM customers")
    assert "  2: keep mask (first 3, last 4 characters, the rest as '*')" in out
    assert "  3: free-text scan for CN_MOBILE" in out
    assert 'SELECT "id", "name", "phone",' in out  # left clear in the derived table


def test_explain_refusal(capsys: pytest.CaptureFixture) -> None:
    code = main(["rules", "explain", "--rules", str(RULES_FILE), "--purpose", "marketing",
                 "SELECT id_no FROM customers"])
    assert code == 1
    assert "public.customers.id_no is denied for purpose marketing" in capsys.readouterr().out


def test_explain_unknown_purpose_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["rules", "explain", "--rules", str(RULES_FILE), "--purpose", "x", "SELECT 1"]) == 1
    assert capsys.readouterr().err.startswith("privacy-gateway: purpose x is not defined")


def test_explain_takes_the_rules_file_from_the_configuration(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(f"rules: {RULES_FILE}\n")
    code = main(["rules", "explain", "--config", str(config), "--purpose", "risk_control",
                 "SELECT id_no FROM customers"])
    assert code == 0
    assert "public.customers.id_no: class id_card -> show" in capsys.readouterr().out
