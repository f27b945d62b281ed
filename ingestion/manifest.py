"""`delivery.yaml`: what a delivery declares about its files' format.

Without a manifest a delivery is UTF-8 (a BOM is fine), comma-delimited, with a decimal point
and timestamps that carry a UTC offset. A delivery that differs says so:

    encoding: latin-1                          # utf-8 (default) or latin-1
    delimiter: ";"                             # one character: , ; | or a tab
    decimal_separator: ","                     # . (default) or ,
    timezone_for_naive_timestamps: America/Bogota  # IANA zone; default: naive timestamps are rejected

Nothing is guessed: a file that does not match what is declared is a `ContractError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingestion.errors import ContractError

MANIFEST_NAME = "delivery.yaml"
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1",
             "iso-8859-1": "latin-1", "iso8859-1": "latin-1"}
DELIMITERS = (",", ";", "|", "\t")


@dataclass(frozen=True)
class Manifest:
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal_separator: str = "."
    timezone_for_naive_timestamps: str | None = None


def delivery_manifest(delivery_dir: Path) -> Manifest:
    """The manifest of a delivery folder: `delivery.yaml` if present, else the defaults."""
    path = Path(delivery_dir) / MANIFEST_NAME
    if not path.is_file():
        return Manifest()
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path.parent.name}/{MANIFEST_NAME}: not valid YAML ({type(exc).__name__})") from exc
    if not isinstance(data, dict):
        raise ContractError(f"{path.parent.name}/{MANIFEST_NAME}: expected a mapping of settings")
    unknown = sorted(set(data) - set(Manifest.__dataclass_fields__))
    if unknown:
        raise ContractError(f"{path.parent.name}/{MANIFEST_NAME}: unknown setting(s) {', '.join(unknown)}; "
                            f"known: {', '.join(Manifest.__dataclass_fields__)}")
    return _checked(path.parent.name, Manifest(**{k: str(v) for k, v in data.items() if v is not None}))


def _checked(delivery: str, m: Manifest) -> Manifest:
    where = f"{delivery}/{MANIFEST_NAME}"
    encoding = ENCODINGS.get(m.encoding.strip().lower())
    if encoding is None:
        raise ContractError(f"{where}: encoding {m.encoding!r} is not supported (use utf-8 or latin-1)")
    delimiter = "\t" if m.delimiter in ("\\t", "tab") else m.delimiter
    if delimiter not in DELIMITERS:
        raise ContractError(f"{where}: delimiter {m.delimiter!r} is not supported (use , ; | or tab)")
    if m.decimal_separator not in (".", ","):
        raise ContractError(f"{where}: decimal_separator must be '.' or ','")
    if m.decimal_separator == delimiter:
        raise ContractError(f"{where}: decimal_separator and delimiter are both {delimiter!r}")
    tz = m.timezone_for_naive_timestamps
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ContractError(f"{where}: timezone_for_naive_timestamps {tz!r} is not an IANA zone") from exc
    return Manifest(encoding, delimiter, m.decimal_separator, tz)
