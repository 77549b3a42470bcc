# Docker-Hub-style test token issuer: RS256 JWTs with an x5c chain that docker-registry 2.8 trusts.
"""Token issuer for the test registry.

Docker Hub's flow: the registry answers 401 with
`WWW-Authenticate: Bearer realm=".../token",service="registry.docker.io",scope="repository:NAME:pull"`,
the client asks the realm for a token (`GET /token?service=...&scope=...&scope=...`, optionally with
basic credentials), and retries with `Authorization: Bearer TOKEN`.

distribution 2.8 (registry/auth/token) verifies: the JOSE header names `alg` and either an `x5c`
chain whose leaf chains to `rootcertbundle` or a `kid` of a trusted key (we use x5c); `iss` is the
configured issuer; `aud` contains the configured service; `exp`/`nbf` with 60 s of leeway; the
signature over `base64url(header).base64url(claims)`; and `access` holds every
{type, name, action} the request needs (GET/HEAD: pull; POST/PUT/PATCH: pull+push; DELETE: delete).
A token that lacks an action makes the registry answer 401 `insufficient_scope`, which is what
Docker Hub does for a private or missing repository.
"""

import base64
import datetime
import json
import secrets
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

SERVICE = "registry.docker.io"
ISSUER = "extupdated-test-issuer"
DEFAULT_EXPIRES_IN = 300
# Repository actions a signed-in user may be granted (Hub grants push/pull to the owner).
USER_ACTIONS = ("pull", "push", "delete")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_scope(scope):
    """Split `type:name:actions` (the name may hold colons, e.g. a registry port) into a tuple."""
    first = scope.find(":")
    last = scope.rfind(":")
    if first <= 0 or last == first:
        raise ValueError("invalid scope %r" % scope)
    rtype = scope[:first]
    # Hub accepts a resource class in parentheses, e.g. "repository(plugin)".
    if "(" in rtype:
        rtype = rtype[:rtype.index("(")]
    name = scope[first + 1:last]
    actions = [a for a in scope[last + 1:].split(",") if a]
    if not name:
        raise ValueError("invalid scope %r" % scope)
    return rtype, name, actions


class Issuer:
    """Holds the signing key, the self-signed certificate and the access policy.

    Policy: `admin` (the harness's own pusher) may do everything everywhere; the configured
    `user` gets pull/push/delete on every repository except `denied` ones; anonymous clients get
    pull on every repository except `denied` and `private` ones. A request for a scope the caller
    may not have still gets a token, with an empty action list for that resource, as Hub does.
    """

    def __init__(self, user="tester", password="tester-password", service=SERVICE, issuer=ISSUER):
        self.service = service
        self.issuer = issuer
        self.user = user
        self.password = password
        self.admin_user = "harness-admin"
        self.admin_password = secrets.token_hex(16)
        self.lock = threading.Lock()
        self.expires_in = DEFAULT_EXPIRES_IN
        self.omit_expires_in = False
        self.denied = set()
        self.private = set()
        self.fail_next = 0
        self.fail_status = 503
        self.fail_retry_after = None
        self.refresh_tokens = {}
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert = self._make_cert()
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode("ascii")]

    def _make_cert(self):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = datetime.datetime.now(datetime.timezone.utc)
        return (x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(self.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True, crl_sign=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .sign(self.key, hashes.SHA256()))

    def configure(self, settings):
        """Apply runtime settings (the /_harness/config body); unknown keys raise ValueError."""
        with self.lock:
            for key, value in settings.items():
                if key == "expires_in":
                    self.expires_in = int(value)
                elif key == "omit_expires_in":
                    self.omit_expires_in = bool(value)
                elif key == "denied":
                    self.denied = set(value)
                elif key == "private":
                    self.private = set(value)
                elif key == "fail_next":
                    self.fail_next = int(value)
                elif key == "fail_status":
                    self.fail_status = int(value)
                elif key == "fail_retry_after":
                    self.fail_retry_after = None if value is None else str(value)
                else:
                    raise ValueError("unknown setting %r" % key)

    def restrict(self, name, private=False, denied=False):
        with self.lock:
            if private:
                self.private.add(name)
            if denied:
                self.denied.add(name)

    def settings(self):
        with self.lock:
            return {"expires_in": self.expires_in, "omit_expires_in": self.omit_expires_in,
                    "denied": sorted(self.denied), "private": sorted(self.private),
                    "fail_next": self.fail_next, "fail_status": self.fail_status,
                    "fail_retry_after": self.fail_retry_after}

    def take_failure(self):
        """Returns (status, retry_after) when an injected failure is due, else None."""
        with self.lock:
            if self.fail_next <= 0:
                return None
            self.fail_next -= 1
            return self.fail_status, self.fail_retry_after

    def authenticate(self, username, password):
        """Returns the account name, None for anonymous; raises PermissionError on bad credentials."""
        if username is None:
            return None
        if username == self.admin_user and secrets.compare_digest(password, self.admin_password):
            return username
        if self.user and username == self.user and secrets.compare_digest(password, self.password):
            return username
        raise PermissionError("incorrect username or password")

    def allowed_actions(self, account, rtype, name):
        with self.lock:
            denied = name in self.denied
            private = name in self.private
        if account == self.admin_user:
            return {"pull", "push", "delete", "*"}
        if rtype == "registry":
            return {"*"} if account is not None and name == "catalog" else set()
        if rtype != "repository" or denied:
            return set()
        if account is not None:
            return set(USER_ACTIONS)
        return set() if private else {"pull"}

    def grant(self, account, scopes):
        """The `access` claim for the requested scopes: every scope listed, with the allowed actions."""
        access = []
        for scope in scopes:
            rtype, name, actions = parse_scope(scope)
            allowed = self.allowed_actions(account, rtype, name)
            granted = [a for a in actions if a in allowed]
            access.append({"type": rtype, "name": name, "actions": granted})
        return access

    def sign(self, account, access, expires_in):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {"iss": self.issuer, "sub": account or "", "aud": self.service,
                  "exp": now + expires_in, "nbf": now, "iat": now, "jti": secrets.token_hex(16),
                  "access": access}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def issue(self, account, scopes, offline=False):
        """The JSON body of a token response, and the access list granted."""
        access = self.grant(account, scopes)
        with self.lock:
            expires_in = self.expires_in
            omit = self.omit_expires_in
        token = self.sign(account, access, expires_in)
        body = {"token": token, "access_token": token,
                "issued_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if not omit:
            body["expires_in"] = expires_in
        if offline and account is not None:
            refresh = secrets.token_hex(16)
            with self.lock:
                self.refresh_tokens[refresh] = account
            body["refresh_token"] = refresh
        return body, access

    def account_for_refresh(self, refresh):
        with self.lock:
            account = self.refresh_tokens.get(refresh)
        if account is None:
            raise PermissionError("invalid refresh token")
        return account
