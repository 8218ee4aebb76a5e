"""Loading RSA keys in every form Alipay's tools and consoles hand out.

The loading itself is shared with the other vendor plugins (``payments_vendorkit.keys``).
Accepted forms, for private and public keys alike:

* PEM: ``BEGIN PRIVATE KEY`` (PKCS#8), ``BEGIN RSA PRIVATE KEY`` (PKCS#1),
  ``BEGIN PUBLIC KEY`` (SubjectPublicKeyInfo) or ``BEGIN RSA PUBLIC KEY`` (PKCS#1);
* bare base64 of the DER bytes, on one line or wrapped, stray whitespace ignored
  (what Alipay's key tool writes and the console shows);
* ``@path``: any of the above read from a file.

``generate`` writes a new pair in the forms Alipay's console takes
(``payments keys generate``).

Errors are ``ValueError`` with a message that never contains the key material.
Loading a private key costs tens of milliseconds (the RSA consistency check), so
load each key once, at start-up.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import rsa

from payments_vendorkit.keys import (
    MIN_KEY_BITS,
    load_private_key,
    load_public_key,
    private_pem,
    public_base64,
    public_pem,
    read_key_text,
    same_key,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "MIN_KEY_BITS",
    "generate",
    "load_private_key",
    "load_public_key",
    "private_pem",
    "public_base64",
    "public_pem",
    "read_key_text",
    "same_key",
]


def generate(folder: Path, name: str = "app") -> list[str]:
    """Write ``{name}_private_key.pem`` (PKCS#8, mode 0600) and ``{name}_public_key.pem``/``.txt``.

    Returns:
        Lines to show: the files, the public key as Alipay's console wants it (bare
        base64), and the setting to use. The private key is never printed.

    Raises:
        ValueError: a file exists already or cannot be written.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
    bare = public_base64(key.public_key())
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / f"{name}_private_key.pem"
    public_path = folder / f"{name}_public_key.pem"
    bare_path = folder / f"{name}_public_key.txt"
    _write_new(private_path, private_pem(key), 0o600)
    _write_new(public_path, public_pem(key.public_key()), 0o644)
    _write_new(bare_path, bare + "\n", 0o644)
    return [
        f"wrote {private_path} (keep it secret), {public_path} and {bare_path}",
        "paste this public key into the Alipay console (接口加签方式, 公钥模式):",
        bare,
        f"then set ALIPAY_PRIVATE_KEY=@{private_path.resolve()}",
        "and ALIPAY_PUBLIC_KEY to the Alipay public key the console shows afterwards",
    ]


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start (never a moment world-readable)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise ValueError(f"{path} exists already; choose another --out or --name") from None
    except OSError as exc:
        raise ValueError(f"cannot write {path} ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("ascii"))
