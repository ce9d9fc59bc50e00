"""Make the test PKI for the interop tests (Debian's python3-cryptography).

    /usr/bin/python3 make_pki.py OUTDIR

Writes PEM files:
  ca.pem / ca.key            the test CA
  server.pem / server.key    localhost, 127.0.0.1 and ::1, signed by ca
  client.pem / client.key    CN=agent-1, signed by ca
  expired.pem / expired.key  CN=agent-old, signed by ca, expired yesterday
  rogue-ca.pem, rogue.pem / rogue.key   CN=agent-1 from another CA
  ca.sha256                  hex SHA-256 of ca.pem's DER (the pin)
  rogue-ca.sha256
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc)


def key():
    return ec.generate_private_key(ec.SECP256R1())


def write(name, cert, k=None):
    with open(os.path.join(out, name + ".pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    if k is not None:
        with open(os.path.join(out, name + ".key"), "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    with open(os.path.join(out, name + ".sha256"), "w") as f:
        f.write(cert.fingerprint(hashes.SHA256()).hex())


def ca(cn):
    k = key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
         .sign(k, hashes.SHA256()))
    return c, k


def leaf(issuer, issuer_key, cn, server=False, expired=False):
    k = key()
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(issuer.subject).public_key(k.public_key()).serial_number(x509.random_serial_number()))
    if expired:
        b = b.not_valid_before(now - datetime.timedelta(days=10)).not_valid_after(now - datetime.timedelta(days=1))
    else:
        b = b.not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=7))
    b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256()), k


ca_cert, ca_key = ca("csf test CA")
write("ca", ca_cert, ca_key)
write("server", *leaf(ca_cert, ca_key, "localhost", server=True))
write("client", *leaf(ca_cert, ca_key, "agent-1"))
write("expired", *leaf(ca_cert, ca_key, "agent-old", expired=True))
rogue_cert, rogue_key = ca("rogue CA")
write("rogue-ca", rogue_cert, rogue_key)
write("rogue", *leaf(rogue_cert, rogue_key, "agent-1"))
write("rogue-server", *leaf(rogue_cert, rogue_key, "localhost", server=True))
print("PKI written to", out)
