"""The kernel's TCP table, read from ``/proc/net/tcp`` and ``/proc/net/tcp6`` (Linux).

:func:`parse` is pure; :func:`connections` reads the files and keeps the rows of given ports.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import NamedTuple

STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
    "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
    "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING", "0C": "NEW_SYN_RECV",
}


class Row(NamedTuple):
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    state: str


def _address(text: str) -> tuple[str, int]:
    ip_hex, port_hex = text.split(":")
    raw = bytes.fromhex(ip_hex)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port_hex, 16)


def parse(text: str) -> list[Row]:
    """Rows of a ``/proc/net/tcp`` or ``/proc/net/tcp6`` text."""
    rows = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4:
            continue
        local, remote = _address(parts[1]), _address(parts[2])
        rows.append(Row(*local, *remote, STATES.get(parts[3].upper(), parts[3])))
    return rows


def available() -> bool:
    return sys.platform.startswith("linux") and Path("/proc/net/tcp").exists()


def read_rows() -> list[Row]:
    rows: list[Row] = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows.extend(parse(Path(name).read_text()))
        except OSError:
            pass
    return rows


def _endpoint(ip: str, port: int) -> str:
    """``127.0.0.1:8081``, ``[::1]:8081``."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def connections(ports: dict[int, int], rows: list[Row] | None = None) -> tuple[tuple[str, str, str], ...]:
    """``(local, remote, state)`` for rows touching the real ports in ``ports`` (real → nominal),
    written with the nominal ports, sorted."""
    if rows is None:
        rows = read_rows()
    out = set()
    for r in rows:
        if r.local_port not in ports and r.remote_port not in ports:
            continue
        lp = ports.get(r.local_port, r.local_port)
        rp = ports.get(r.remote_port, r.remote_port) if r.remote_port else 0
        out.add((_endpoint(r.local_ip, lp), _endpoint(r.remote_ip, rp), r.state))
    return tuple(sorted(out, key=lambda s: (s[2] != "LISTEN", s)))
