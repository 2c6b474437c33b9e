"""Who may reach the app: loopback needs no password, any other address does (unless the
operator says --insecure). Kept free of Gradio so `serve` can refuse quickly."""

from __future__ import annotations

import ipaddress
from pathlib import Path


class AccessError(Exception):
    """A host/auth combination or an auth file that cannot be used; the message says why."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost" — addresses only this machine reaches."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_account(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.strip().partition(":")
    if not sep or not user.strip() or not password:
        raise AccessError(f"{where}: skriv ANVÄNDARE:LÖSENORD.")
    return user.strip(), password


def read_accounts(auth: list[str], auth_file: Path | None) -> list[tuple[str, str]]:
    """Accounts from --auth USER:PASS (repeatable) and an auth file with one USER:PASS per
    line (blank lines and lines starting with # are skipped)."""
    accounts = [parse_account(a, "--auth") for a in auth]
    if auth_file is not None:
        try:
            lines = auth_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessError(f"--auth-file {auth_file}: kan inte läsas ({exc}).") from exc
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                accounts.append(parse_account(line, f"{auth_file}, rad {number}"))
        if not accounts:
            raise AccessError(f"--auth-file {auth_file}: filen innehåller inga konton.")
    return accounts


def check_exposure(host: str, accounts: list[tuple[str, str]], insecure: bool) -> None:
    """Refuse to listen beyond this machine without a password, unless `insecure`."""
    if is_loopback(host) or accounts or insecure:
        return
    raise AccessError(
        f"--host {host} gör sökningen nåbar från andra datorer i nätverket, och då krävs "
        "inloggning: ange --auth ANVÄNDARE:LÖSENORD eller --auth-file FIL. Vill du ändå "
        "köra utan lösenord (t.ex. bakom en egen inloggning), ange --insecure."
    )
