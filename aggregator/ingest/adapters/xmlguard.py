"""Refusing XML that declares entities (billion laughs, quadratic blow-up, external entities) before any parse.

The rule is defusedxml's `forbid_entities`: a document whose DTD declares any entity is refused. Entity
declarations can only stand in the DTD, before the root element, so expat reads the prolog alone and
stops at the root's start tag: the check costs microseconds whatever the body's size.
"""

from __future__ import annotations

import re
from xml.parsers import expat

from aggregator.errors import ParseError

_HINT = "entity declarations are how XML bombs exhaust memory and read local files; the document is refused"
# When expat cannot read the prolog (an encoding it lacks, an ill-formed document that a lenient parser
# would still read), any declaration anywhere refuses the body, in ASCII-compatible or UTF-16 bytes.
_DECLARATION = re.compile(
    rb"<!ENTITY|<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y|\x00<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y", re.IGNORECASE
)
_CHUNK = 4096


class _RootReached(Exception):
    """The root element started: the prolog held no entity declaration."""


class _EntityDeclared(Exception):
    """The prolog declared an entity."""


def _root_reached(*_args: object) -> None:
    raise _RootReached


def _entity_declared(*_args: object) -> None:
    raise _EntityDeclared


def refuse_entity_declarations(body: bytes) -> None:
    """Raise ParseError when `body` declares any XML entity; return when it declares none."""
    parser = expat.ParserCreate()
    parser.EntityDeclHandler = _entity_declared
    parser.UnparsedEntityDeclHandler = _entity_declared
    parser.StartElementHandler = _root_reached
    try:
        for start in range(0, len(body), _CHUNK):
            parser.Parse(body[start : start + _CHUNK], False)
        parser.Parse(b"", True)
    except _RootReached:
        return
    except _EntityDeclared:
        raise ParseError("the document declares an XML entity", hint=_HINT) from None
    except (expat.ExpatError, ValueError, LookupError):
        if _DECLARATION.search(body) is not None:
            raise ParseError("the document declares an XML entity", hint=_HINT) from None
