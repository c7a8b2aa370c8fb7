#!/usr/bin/env python3
"""Generates a TOML corpus judged by Python's tomllib, for the differential test of WatchConfig's parser.

Usage: toml_corpus.py [--seed N] [--count N]  ->  JSON on stdout:
  {"generator": ..., "cases": [{"name", "doc", "valid", "value", "error", "skip"}, ...]}

Documents are random but deterministic for a seed: hand-written edge cases (table
redefinition rules, string and number corner cases), random documents built from the
TOML grammar (some deliberately reusing names so redefinition rules come into play),
and mutated copies of them (a character inserted, deleted or replaced, lines duplicated
or swapped, a nasty snippet spliced in). tomllib decides whether each is valid and, if
so, what it means.

`value` is the canonical JSON form both sides compare: a table is a JSON object, an
array a JSON list, and a scalar {"type": "string"|"integer"|"float"|"bool", "value": ...}
with integers as decimal strings (exact) and floats as repr() strings or "inf", "-inf",
"nan" (compared numerically).

`skip` marks documents outside the subset the Swift parser implements: dates and times
(which it rejects on purpose), and integers beyond 64 bits (tomllib accepts them; TOML
1.0 says a parser must reject them).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import random
import sys
import tomllib

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class OutOfSubset(Exception):
    pass


def canonical(value):
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise OutOfSubset("integer outside 64 bits")
        return {"type": "integer", "value": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            text = "nan"
        elif math.isinf(value):
            text = "inf" if value > 0 else "-inf"
        else:
            text = repr(value)
        return {"type": "float", "value": text}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, (datetime.date, datetime.time, datetime.datetime)):
        raise OutOfSubset("date/time")
    raise TypeError(f"unexpected {type(value)}")


def judge(name: str, doc: str) -> dict:
    case = {"name": name, "doc": doc, "valid": False, "value": None, "error": None, "skip": None}
    try:
        parsed = tomllib.loads(doc)
    except tomllib.TOMLDecodeError as error:
        case["error"] = str(error)
        return case
    case["valid"] = True
    try:
        case["value"] = canonical(parsed)
    except OutOfSubset as reason:
        case["skip"] = str(reason)
    return case


# Hand-written cases: the rules a random generator rarely hits exactly.
CURATED = [
    # table definition rules
    "[a]\n[a]\n",
    "[a.b]\n[a]\n",
    "[a]\n[a.b]\n[a]\n",
    "[a.b.c]\n[a]\nb.d = 1\n",
    "[a.b.c]\n[a]\nb.d = 1\n[a.b]\n",
    "[a.b]\n[a]\nb.c = 1\n",
    "a.b = 1\n[a]\n",
    "a.b = 1\n[a.c]\nx = 1\n",
    "a.b.c = 1\na.b.d = 2\n",
    "a.b = 1\na = 2\n",
    "a = 1\na.b = 2\n",
    "a = 1\n[a]\n",
    "a = 1\n[a.b]\n",
    "a = {}\n[a]\n",
    "a = {}\n[a.b]\n",
    "a = {b = 1}\na.c = 2\n",
    "a = []\n[[a]]\n",
    "a = [{}]\n[a.b]\n",
    "[[a]]\n[a]\n",
    "[a]\n[[a]]\n",
    "[a.b]\n[[a]]\n",
    "[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2\n",
    "[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n",
    "[[a.b]]\n[[a]]\n",
    "[[a]]\n[[a.b]]\n[a.b.c]\n[[a.b]]\n[a.b.c]\n",
    "[[t.a]]\n[t]\na.b = 1\n",
    "[[t.a]]\n[t]\nx = 1\n",
    "[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
    "[fruit]\napple.color = 'red'\n[fruit.apple]\n",
    "[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]\n",
    "[x]\na.b = 1\n[y]\n[x.a.c]\n",
    "[a]\nb = 1\n[a.b]\n",
    "[a.b.c]\nz = 1\n[a]\nb = 1\n",
    "x = {a.b = 1, a.c = 2}\n",
    "x = {a = {b = 1}, a.c = 2}\n",
    "x = {a.b = 1, a = 2}\n",
    "x = {a = 1, a.b = 2}\n",
    "x = {a = [1], a.b = 1}\n",
    "x = {a = 1, a = 1}\n",
    "x = {a = 1,}\n",
    "x = {\na = 1}\n",
    "x = {a = [\n1,\n2]}\n",
    "x = {}\n",
    "x = { }\n",
    "'' = 1\n",
    "\"\" = 1\n",
    "a.\"b.c\".'d' = 1\n",
    " a . b = 1\n",
    "[ a . 'b' ]\n",
    "[[ a ]]\n",
    "[ [a]]\n",
    "[[a] ]\n",
    "[a]]\n",
    "a = 1 b = 2\n",
    "a = 1 # comment\n# another\n",
    "a = \"x\" #\x01\n",
    "# comment \x7f\n",
    "a = 1\r\nb = 2\r\n",
    "a = 1\rb = 2\n",
    "a = \"\"\"x\r\ny\"\"\"\n",
    "\ufeffa = 1\n",
    "= 1\n",
    "a =\n",
    "a = \n1\n",
    "a\n= 1\n",
    "\"\"\"a\"\"\" = 1\n",
    "a.\"\"\"b\"\"\" = 1\n",
    # strings
    "a = \"\\b\\t\\n\\f\\r\\\"\\\\\\u00e9\\U0001F600\"\n",
    "a = \"\\e\"\n",
    "a = \"\\x41\"\n",
    "a = \"\\uD800\"\n",
    "a = \"\\U00110000\"\n",
    "a = \"\\u00e\"\n",
    "a = \"tab\there\"\n",
    "a = 'C:\\path\\to'\n",
    "a = 'it''s'\n",
    "a = \"\"\"\nline1\nline2\"\"\"\n",
    "a = \"\"\"\n\nx\"\"\"\n",
    "a = \"\"\"a \\\n   b \\\n\n  c\"\"\"\n",
    "a = \"\"\"a \\   \n   b\"\"\"\n",
    "a = \"\"\"a \\ b\"\"\"\n",
    "a = \"\"\"\\\"\"\"\"\n",
    "a = \"\"\"x\"\"\"\"\n",
    "a = \"\"\"x\"\"\"\"\"\n",
    "a = \"\"\"x\"\"\"\"\"\"\n",
    "a = \"\"\"\"\"\"\n",
    "a = \"\"\"\"\"\"\"\n",
    "a = \"\"\"a\"\"b\"\"\"\n",
    "a = '''\nx'''\n",
    "a = '''x''''\n",
    "a = '''x'''''\n",
    "a = '''x''''''\n",
    "a = ''''''\n",
    "a = '''a''b'''\n",
    "a = '''\\n'''\n",
    "a = \"unterminated\n",
    "a = 'unterminated\n",
    "a = \"\"\"unterminated\n",
    "a = \"\\\n",
    "a = \"\"\"\\",
    "a = \"\\u0000\"\n",
    "a = \"\x00\"\n",
    "a = \"\"\"\x0b\"\"\"\n",
    "a = 'é 日本 😀'\n",
    # numbers
    "a = 0\nb = +0\nc = -0\nd = 1_000\ne = -17\nf = +99\n",
    "a = 01\n",
    "a = 1__0\n",
    "a = _1\n",
    "a = 1_\n",
    "a = 0_1\n",
    "a = 0xDEAD_beef\nb = 0o755\nc = 0b1101\n",
    "a = 0X1\n",
    "a = +0x1\n",
    "a = -0x1\n",
    "a = 0x\n",
    "a = 0x_1\n",
    "a = 0b2\n",
    "a = 0o8\n",
    "a = 9223372036854775807\nb = -9223372036854775808\n",
    "a = 0x7fffffffffffffff\n",
    "a = 9223372036854775808\n",
    "a = 1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34\nh = 224_617.445_991_228\n",
    "a = 1.\n",
    "a = .1\n",
    "a = 1.e1\n",
    "a = 1e\n",
    "a = 1e_1\n",
    "a = 1e1_0\n",
    "a = 1.0e1.0\n",
    "a = 00.1\n",
    "a = 0.0\nb = -0.0\nc = +0.0\n",
    "a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan\n",
    "a = infinity\n",
    "a = NaN\n",
    "a = 1e400\n",
    "a = 1.7976931348623157e308\nb = 5e-324\n",
    "a = true\nb = false\n",
    "a = True\n",
    "a = truex\n",
    "a = tru\n",
    "a = 1979-05-27\n",
    "a = 07:32:00\n",
    "a = 1979-05-27T07:32:00Z\n",
    "a = 2023-02-30\n",
    "a = 1:30\n",
    # arrays
    "a = []\nb = [ ]\nc = [1,]\nd = [1, 'a', [2.0, true], {x = 1}]\n",
    "a = [\n  1, # one\n  2, # two\n]\n",
    "a = [,]\n",
    "a = [1,,2]\n",
    "a = [1 2]\n",
    "a = [1\n",
    "a = [[], [[]]]\n",
    "a = [ # c\n]\n",
]


class Generator:
    """Random TOML text from the grammar of the subset."""

    WORDS = ["a", "b", "c", "key", "name", "x-y", "_u", "1", "42", "true", "inf", "nan", "A_B", "k-9", "Zed"]
    STRING_PIECES = ["a", "b", "Hello", " ", "\t", "é", "日本", "😀", "#", "=", "[", "]", "{", "}", ",", ".", "'", "\\\\",
                     "\\\"", "\\n", "\\t", "\\b", "\\f", "\\r", "\\u00e9", "\\u0041", "\\U0001F600", "\\u0000", "x y z"]

    def __init__(self, rng: random.Random, reuse_names: bool):
        self.rng = rng
        self.reuse_names = reuse_names
        self.counter = 0

    def name(self) -> str:
        if self.reuse_names:
            return self.rng.choice(["a", "b", "c"])
        self.counter += 1
        return f"{self.rng.choice(self.WORDS)}{self.counter}"

    def key_part(self) -> str:
        name = self.name()
        r = self.rng.random()
        if r < 0.7:
            return name
        if r < 0.85:
            extra = self.rng.choice(["", " ", ".", "é", "\\n", "\\u00e9", "\\\""])
            return f'"{name}{extra}"'
        extra = self.rng.choice(["", " ", ".", "é", '"', "\\"])
        return f"'{name}{extra}'"

    def ws(self) -> str:
        return self.rng.choice(["", "", " ", "  ", "\t"])

    def key(self, max_parts: int = 3) -> str:
        parts = [self.key_part() for _ in range(self.rng.randint(1, max_parts) if self.rng.random() < 0.4 else 1)]
        return (self.ws() + "." + self.ws()).join(parts)

    def basic_string(self) -> str:
        return '"' + "".join(self.rng.choice(self.STRING_PIECES) for _ in range(self.rng.randint(0, 6))).replace("'", "'") + '"'

    def literal_string(self) -> str:
        pieces = ["a", " ", "é", "\\", '"', "#", "\\n", "日本", "\t", "x"]
        return "'" + "".join(self.rng.choice(pieces) for _ in range(self.rng.randint(0, 6))) + "'"

    def multiline_basic(self) -> str:
        pieces = self.STRING_PIECES + ["\n", "\n", '"', '""', "\\\n", "\\   \n   ", "  \\\n\n  "]
        body = "".join(self.rng.choice(pieces) for _ in range(self.rng.randint(0, 8)))
        lead = self.rng.choice(["", "\n"])
        tail = self.rng.choice(["", "", '"', '""'])
        if body.endswith("\\") and not body.endswith("\\\\"):
            body += "x"
        return '"""' + lead + body + tail + '"""'

    def multiline_literal(self) -> str:
        pieces = ["a", " ", "\n", "'", "''", '"', "\\", "é", "x\n y"]
        body = "".join(self.rng.choice(pieces) for _ in range(self.rng.randint(0, 8)))
        return "'''" + self.rng.choice(["", "\n"]) + body + self.rng.choice(["", "", "'", "''"]) + "'''"

    def underscored(self, digits: str) -> str:
        if len(digits) < 2 or self.rng.random() < 0.6:
            return digits
        out = digits[0]
        for d in digits[1:]:
            out += ("_" if self.rng.random() < 0.3 else "") + d
        return out

    def integer(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            n = self.rng.choice([0, 1, 7, 42, 1000, 123456789, 2**31, 2**53 + 1, INT64_MAX, 2**62])
            if self.rng.random() < 0.3:
                n = self.rng.randint(0, 10**self.rng.randint(1, 18))
            sign = self.rng.choice(["", "", "-", "+"])
            if sign == "-" and self.rng.random() < 0.1:
                n = 2**63
            return sign + self.underscored(str(n))
        n = self.rng.randint(0, 2**self.rng.choice([4, 16, 40, 63]) - 1)
        base = self.rng.choice(["x", "o", "b"])
        digits = {"x": format(n, "x"), "o": format(n, "o"), "b": format(n, "b")}[base]
        if base == "x" and self.rng.random() < 0.3:
            digits = digits.upper()
        return "0" + base + self.underscored(digits)

    def float(self) -> str:
        r = self.rng.random()
        if r < 0.15:
            return self.rng.choice(["", "+", "-"]) + self.rng.choice(["inf", "nan"])
        int_part = self.rng.choice(["0", "1", "3", "42", "123456", "9007199254740993"])
        text = self.rng.choice(["", "-", "+"]) + self.underscored(int_part)
        has_frac = self.rng.random() < 0.7
        if has_frac:
            text += "." + self.underscored(self.rng.choice(["0", "5", "25", "1415926535", "000001", "999999999999999999"]))
        if not has_frac or self.rng.random() < 0.4:
            text += self.rng.choice(["e", "E"]) + self.rng.choice(["", "+", "-"]) + self.underscored(
                self.rng.choice(["0", "1", "06", "22", "308", "309", "324", "400"]))
        return text

    def scalar(self) -> str:
        kind = self.rng.choice(["basic", "basic", "literal", "mlbasic", "mlliteral", "int", "int", "float", "float", "bool"])
        return {
            "basic": self.basic_string, "literal": self.literal_string, "mlbasic": self.multiline_basic,
            "mlliteral": self.multiline_literal, "int": self.integer, "float": self.float,
            "bool": lambda: self.rng.choice(["true", "false"]),
        }[kind]()

    def value(self, depth: int = 0) -> str:
        r = self.rng.random()
        if depth < 3 and r < 0.15:
            return self.array(depth + 1)
        if depth < 3 and r < 0.25:
            return self.inline_table(depth + 1)
        return self.scalar()

    def array(self, depth: int) -> str:
        items = [self.value(depth) for _ in range(self.rng.randint(0, 4))]
        if self.rng.random() < 0.4:
            sep = "," + self.rng.choice(["\n  ", " # note\n  ", "\n\n"])
            trailing = self.rng.choice(["", ","]) if items else ""
            return "[\n  " + sep.join(items) + trailing + self.rng.choice(["\n", " # end\n", ""]) + "]"
        trailing = self.rng.choice(["", "", ","]) if items else ""
        return "[" + self.ws() + ("," + self.ws()).join(items) + trailing + self.ws() + "]"

    def inline_table(self, depth: int) -> str:
        pairs = [f"{self.key(2)}{self.ws()}={self.ws()}{self.value(depth)}" for _ in range(self.rng.randint(0, 3))]
        # A value containing a newline (multi-line string, multi-line array) is fine inside.
        return "{" + self.ws() + ("," + self.ws()).join(pairs) + self.ws() + "}"

    def key_value(self) -> str:
        line = f"{self.ws()}{self.key()}{self.ws()}={self.ws()}{self.value()}{self.ws()}"
        if self.rng.random() < 0.2:
            line += "# " + self.rng.choice(["comment", "é", "a = 1", "[x]", ""])
        return line

    def header(self) -> str:
        path = (self.ws() + "." + self.ws()).join(self.key_part() for _ in range(self.rng.randint(1, 3)))
        if self.rng.random() < 0.3:
            return f"[[{self.ws()}{path}{self.ws()}]]"
        return f"[{self.ws()}{path}{self.ws()}]"

    def document(self) -> str:
        lines = []
        for _ in range(self.rng.randint(0, 4)):
            lines.append(self.key_value())
        for _ in range(self.rng.randint(0, 4)):
            if self.rng.random() < 0.2:
                lines.append(self.rng.choice(["", "# section", "   "]))
            lines.append(self.header() + self.rng.choice(["", "", "  # header"]))
            for _ in range(self.rng.randint(0, 3)):
                lines.append(self.key_value())
        newline = "\r\n" if self.rng.random() < 0.1 else "\n"
        return newline.join(lines) + self.rng.choice([newline, newline, ""])


NASTY = ["=", "[", "]", "]]", "[[", "{", "}", ",", ".", "#", '"', "'", '"""', "'''", "\\", "\\u12", "\\U0001F60",
         "0x", "1__2", "_", "\r", "\x00", "\x7f", "\x1f", " = 1", "\n", "\n[a]\n", "\na = 1\n", "1979-05-27",
         "07:32:00", "nan", "+inf", "-0", "00", "1e", "e5", ".5", "true", "a.b", " ", "\t", "\ufeff", "é"]


def mutate(rng: random.Random, doc: str) -> str:
    for _ in range(rng.randint(1, 2)):
        op = rng.choice(["insert", "insert", "delete", "replace", "duplicate", "swap", "truncate"])
        pos = rng.randint(0, len(doc)) if doc else 0
        if op == "insert":
            doc = doc[:pos] + rng.choice(NASTY) + doc[pos:]
        elif op == "delete" and doc:
            pos = min(pos, len(doc) - 1)
            doc = doc[:pos] + doc[pos + 1:]
        elif op == "replace" and doc:
            pos = min(pos, len(doc) - 1)
            doc = doc[:pos] + rng.choice(NASTY) + doc[pos + 1:]
        elif op in ("duplicate", "swap"):
            lines = doc.split("\n")
            i = rng.randrange(len(lines))
            if op == "duplicate":
                lines.insert(i, lines[i])
            elif i + 1 < len(lines):
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
            doc = "\n".join(lines)
        elif op == "truncate":
            doc = doc[:pos]
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--count", type=int, default=1500, help="random documents (half of them mutated)")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    cases = [judge(f"curated-{i}", doc) for i, doc in enumerate(CURATED)]
    for i in range(args.count // 2):
        doc = Generator(rng, reuse_names=rng.random() < 0.3).document()
        cases.append(judge(f"random-{i}", doc))
        cases.append(judge(f"mutated-{i}", mutate(rng, doc)))
    json.dump({"generator": f"toml_corpus.py --seed {args.seed} --count {args.count}", "cases": cases},
              sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
