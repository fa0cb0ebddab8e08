"""The certificate authority the egress proxy signs registry certificates with, to read what installs ask for.

An install's HTTPS request to a package registry is a tunnel the proxy cannot read; to ask about each package before
the registry answers (registry_reading.py), the proxy ends the sandbox's TLS itself, with a certificate for that
registry's name signed by this authority, and talks to the real registry over TLS it verifies. Only sandboxes trust
the authority: their environment names its certificate (network.py), nothing else on the machine does.

The authority is made once per data folder (its key readable by Forja's user alone, as the apps' secret key is);
each registry's certificate is made when first needed and kept in memory, its key never written anywhere.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_FILE = "registry-ca.key"
CERT_FILE = "registry-ca.pem"
_NAME = "Forja installs' registry check"
_CA_YEARS = 10
_LEAF_DAYS = 30  # a leaf is remade past half of this (a long-running Forja keeps its contexts)
_SKEW = datetime.timedelta(hours=1)  # a sandbox's clock a little behind still accepts a new certificate


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Forja"), x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class CertificateAuthority:
    """An authority's certificate and key; `context(host)`: a TLS server context presenting a certificate for `host`."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    _contexts: dict[str, tuple[datetime.datetime, ssl.SSLContext]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def made(cls, common: str = _NAME) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(_name(common))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _SKEW)
            .not_valid_after(_now() + datetime.timedelta(days=365 * _CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @classmethod
    def in_folder(cls, folder: Path) -> CertificateAuthority:
        """The authority kept in `folder`, made there (key mode 0600) the first time."""
        key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not the key Forja made")
            return cls(x509.load_pem_x509_certificate(cert_path.read_bytes()), key)
        made = cls.made()
        folder.mkdir(parents=True, exist_ok=True)
        key_pem = made.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_pem)
        cert_path.write_bytes(made.pem())
        return made

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def context(self, host: str) -> ssl.SSLContext:
        """A server context for `host` (a name or an address), made once and kept while its certificate is young."""
        with self._lock:
            kept = self._contexts.get(host)
            if kept is None or kept[0] < _now():
                kept = (_now() + datetime.timedelta(days=_LEAF_DAYS / 2), self._server_context(host))
                self._contexts[host] = kept
            return kept[1]

    def leaf(self, host: str) -> tuple[bytes, bytes]:
        """A certificate for `host` signed by this authority, and its key (PEM, the chain with the authority's)."""
        key = ec.generate_private_key(ec.SECP256R1())
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _SKEW)
            .not_valid_after(_now() + datetime.timedelta(days=_LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return certificate.public_bytes(serialization.Encoding.PEM) + self.pem(), key_pem

    def _server_context(self, host: str) -> ssl.SSLContext:
        chain, key = self.leaf(host)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # ssl loads a chain from files only: a folder of its own, gone once loaded, so the key is never left on disk.
        with tempfile.TemporaryDirectory(prefix="forja-leaf-") as folder:
            chain_path, key_path = Path(folder) / "chain.pem", Path(folder) / "key.pem"
            chain_path.write_bytes(chain)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key)
            context.load_cert_chain(chain_path, key_path)
        return context
