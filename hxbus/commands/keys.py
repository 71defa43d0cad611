"""``hxbus keys generate --agency A | --province P [--agreement FILE] [--rotate]``: signing keys.

Writes a new Ed25519 private key to ``$HX_STATE_DIR/keys/<agency>.ed25519.pem`` (mode
0600; never into the repository) and adds its public half to the agency's ``public_keys``
in the agreement (``--agreement``, default ``HX_AGREEMENT``). An agency that has a key
already keeps it unless ``--rotate``: the agreement then lists the old and the new key, so
messages signed before the switch still verify; the oldest leaves once a third comes.

``--province P`` (or ``--bridge P``) makes the key of the province's bridge, which signs
its audit records: ``$HX_STATE_DIR/keys/bridge-<p>.ed25519.pem``, public half in the
``public_keys`` of ``[provinces.P]``; ``hxbus audit`` verifies every record with it.

Receivers verify against the agreement's keys, so hand the edited agreement to every
partner before publishing with the new key. Once any agency has a key, every message
must be signed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runtime import Settings
from runtime.signing_keys import (
    add_province_public_key,
    add_public_key,
    generate_key,
    key_id,
    private_key_path,
    public_key_text,
)
from schemas import bridge_principal, load_agreement


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="manage the agencies' Ed25519 signing keys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate", help="new key pair: private key to the state dir, public into the agreement"
    )
    who = generate.add_mutually_exclusive_group(required=True)
    who.add_argument("--agency", metavar="AGENCY", help="the agency id")
    who.add_argument(
        "--province",
        "--bridge",
        dest="province",
        metavar="PROVINCE",
        help="the province key (JS): the key its bridge signs audit records with",
    )
    generate.add_argument(
        "--agreement", type=Path, default=None, metavar="FILE", help="default: HX_AGREEMENT"
    )
    generate.add_argument(
        "--rotate", action="store_true", help="replace an existing key; the agreement keeps both"
    )
    generate.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    agreement_path: Path = args.agreement or settings.agreement
    agreement = load_agreement(agreement_path)
    if args.province is not None:
        province = agreement.province_key(args.province, "--province")  # ConfigError if unknown
        owner, name = f"province {province} (its bridge)", bridge_principal(province)
    else:
        name = agreement.agency(args.agency).id  # ConfigError when unknown
        owner = f"agency {name}"
    key = generate_key(settings.state_dir, name, rotate=args.rotate)
    public = key.public_key()
    if args.province is not None:
        written = add_province_public_key(agreement_path, province, public_key_text(public))
        listed = len(written.provinces[province].public_keys)
    else:
        written = add_public_key(agreement_path, name, public_key_text(public))
        listed = len(written.agency(name).public_keys)
    print(f"private key {private_key_path(settings.state_dir, name)} (mode 600)")
    print(f"key id {key_id(public)}; public key {public_key_text(public)}")
    print(f"agreement {agreement_path}: {owner} lists {listed} public key(s)")
    return 0
