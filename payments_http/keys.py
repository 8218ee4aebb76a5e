"""``payments keys generate``: an RSA-2048 application key pair in the forms Alipay takes."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _write(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise ValueError(f"{path} exists already; choose another --out or --name") from None
    except OSError as exc:
        raise ValueError(f"cannot write {path} ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def generate(folder: Path, name: str = "app") -> list[str]:
    """Write ``{name}_private_key.pem`` (PKCS#8, mode 0600) and ``{name}_public_key.pem``/``.txt``.

    Returns:
        Lines to show: the files, the public key as Alipay's console wants it (bare
        base64), and the setting to use. The private key is never printed.

    Raises:
        ValueError: a file exists already or cannot be written.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    bare = base64.b64encode(der).decode()
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / f"{name}_private_key.pem"
    _write(private_path, private, 0o600)
    _write(folder / f"{name}_public_key.pem", public_pem, 0o644)
    _write(folder / f"{name}_public_key.txt", (bare + "\n").encode(), 0o644)
    return [
        f"wrote {private_path} (keep it secret), {folder / (name + '_public_key.pem')} "
        f"and {folder / (name + '_public_key.txt')}",
        "paste this public key into the Alipay console (接口加签方式, 公钥模式):",
        bare,
        f"then set ALIPAY_PRIVATE_KEY=@{private_path.resolve()}",
        "and ALIPAY_PUBLIC_KEY to the Alipay public key the console shows afterwards",
    ]
