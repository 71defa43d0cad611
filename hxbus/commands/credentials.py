"""``hxbus credentials --agency A | --user NAME | --admin``: SASL login lines for a shell.

Prints two lines, ``export HX_SASL_USERNAME=...`` and ``export HX_SASL_PASSWORD=...``,
for ``eval "$(hxbus credentials --agency A)"`` or for an operator handing an agency its
login. The passwords are the ones ``hxbus provision`` generated (``$HX_STATE_DIR/secrets``,
0600); ``--admin`` is the super-user of the local secured cluster (``hxbus broker start
--secure``). This is the one place a password is printed: never into a log.

When the local cluster runs with TLS (``hxbus broker start --secure --tls``) a third
line, ``export HX_SSL_CAFILE=...``, names the CA certificate the clients must trust (a
public file, not a secret). Against a broker this host did not start, set
HX_SSL_CAFILE to the CA file of that broker's PKI yourself.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from hxbus import broker
from runtime import Settings
from runtime.secrets import password_file, read_secret
from schemas import load_agreement
from schemas.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "credentials",
        help="print the HX_SASL_USERNAME/HX_SASL_PASSWORD (and HX_SSL_CAFILE) lines (for eval)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--agency", metavar="AGENCY", help="an agency id of the agreement")
    who.add_argument("--user", metavar="NAME", help="another provisioned user (bridge-js, auditor)")
    who.add_argument("--admin", action="store_true", help="the local secured cluster's admin")
    parser.set_defaults(handler=_credentials)


def _credentials(args: argparse.Namespace, settings: Settings) -> int:
    if args.admin:
        user = broker.ADMIN_USER
        path = broker.admin_password_file(broker.broker_root(settings))
    else:
        user = args.user or load_agreement(settings.agreement).agency(args.agency).id
        path = password_file(settings.state_dir, user)
        if not path.exists():
            raise ConfigError(f"{user}: no password in {path}; hxbus provision makes it")
    password = read_secret(path)
    print(f"export HX_SASL_USERNAME={shlex.quote(user)}")
    print(f"export HX_SASL_PASSWORD={shlex.quote(password)}")
    cluster = broker.load_cluster(broker.broker_root(settings))
    ca = broker.ca_file(cluster) if cluster is not None else None
    if ca is not None:
        print(f"export HX_SSL_CAFILE={shlex.quote(str(ca))}")
    return 0
