"""An `argparse` parser that speaks French: usage, headings, `--help` and every error message.

`argparse` writes its own texts in English (« usage: », « error: the following arguments are
required », « invalid choice », « show this help message and exit »). `FrenchArgumentParser` replaces
the headings and the help option's text, and translates each error message before it is printed;
sub-commands made with `add_subparsers` are of the same class, so they speak French too. Option
names are untouched (`-h`, `--help` and the commands' own options).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

USAGE = "utilisation : "
HELP = "affiche cette aide et quitte"
# argparse writes « <title>: »; French puts a space before the colon.
POSITIONALS = "arguments positionnels "
OPTIONALS = "options "
# Types of `argparse`'s « invalid <type> value » message, by the name of the conversion function.
TYPE_NAMES = {"int": "un nombre entier", "float": "un nombre"}


def _quoted(text: str) -> str:
    """`'abc'` (a Python repr, as argparse quotes values) as « abc »."""
    return re.sub(r"'([^']*)'", r"« \1 »", text)


def _choices(text: str) -> str:
    """`'pre', 'region'` as `pre, region`."""
    return re.sub(r"'([^']*)'", r"\1", text)


def _required(names: str) -> str:
    several = "," in names
    return (f"argument{'s' if several else ''} obligatoire{'s' if several else ''} "
            f"manquant{'s' if several else ''} : {names}")


# (English message as argparse writes it, its French translation); the first that matches is used.
_MESSAGES: list[tuple[re.Pattern[str], object]] = [
    (re.compile(r"the following arguments are required: (?P<names>.*)", re.S),
     lambda m: _required(m["names"])),
    (re.compile(r"unrecognized arguments: (?P<args>.*)", re.S),
     lambda m: f"argument{'s' if ' ' in m['args'].strip() else ''} non reconnu"
               f"{'s' if ' ' in m['args'].strip() else ''} : {m['args']}"),
    (re.compile(r"one of the arguments (?P<names>.*) is required", re.S),
     lambda m: f"l'un des arguments {m['names']} est obligatoire"),
    (re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.*)", re.S),
     lambda m: f"option ambiguë : {m['option']} peut désigner {m['matches']}"),
    (re.compile(r"unexpected option string: (?P<option>.*)", re.S),
     lambda m: f"option inattendue : {m['option']}"),
    (re.compile(r"invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)", re.S),
     lambda m: f"choix invalide : {_quoted(m['value'])} (choix possibles : {_choices(m['choices'])})"),
    (re.compile(r"invalid (?P<type>\S+) value: (?P<value>.*)", re.S),
     lambda m: f"valeur invalide : {_quoted(m['value'])}"
               + (f" ({TYPE_NAMES[m['type']]} est attendu)" if m["type"] in TYPE_NAMES else "")),
    (re.compile(r"expected one argument"), lambda m: "une valeur est attendue"),
    (re.compile(r"expected at most one argument"), lambda m: "une valeur au plus est attendue"),
    (re.compile(r"expected at least one argument"), lambda m: "au moins une valeur est attendue"),
    (re.compile(r"expected (?P<n>\d+) arguments?"), lambda m: f"{m['n']} valeurs sont attendues"),
    (re.compile(r"not allowed with argument (?P<other>.*)", re.S),
     lambda m: f"incompatible avec l'argument {m['other']}"),
    (re.compile(r"ignored explicit argument (?P<value>.*)", re.S),
     lambda m: f"cette option ne prend pas de valeur ({_quoted(m['value'])})"),
    (re.compile(r"unknown parser (?P<name>.*) \(choices: (?P<choices>.*)\)", re.S),
     lambda m: f"commande inconnue : {_quoted(m['name'])} (commandes possibles : {_choices(m['choices'])})"),
    (re.compile(r"can't open '(?P<name>.*)': (?P<error>.*)", re.S),
     lambda m: f"impossible d'ouvrir « {m['name']} » : {m['error']}"),
]
_ARGUMENT = re.compile(r"argument (?P<name>\S+): (?P<message>.*)", re.S)


def translate(message: str) -> str:
    """An `argparse` error message in French; a message already in French (an `ArgumentTypeError` of
    the commands) is kept as it is."""
    found = _ARGUMENT.fullmatch(message)
    if found:
        return f"argument {found['name']} : {translate(found['message'])}"
    for pattern, french in _MESSAGES:
        m = pattern.fullmatch(message)
        if m:
            return french(m)  # type: ignore[operator]
    return message


class FrenchHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, USAGE if prefix is None else prefix)


class FrenchArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` with French headings, help and errors (its sub-parsers too)."""

    def __init__(self, *args, add_help: bool = True, **kwargs) -> None:
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = POSITIONALS
        self._optionals.title = OPTIONALS
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=HELP)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {translate(message)}\n")
