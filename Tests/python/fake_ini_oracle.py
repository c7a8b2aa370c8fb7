#!/usr/bin/env python3
"""Oracle for outpostwatch's AWS config-file parser: parses INI files exactly as botocore does.

Usage: fake_ini_oracle.py FILE...
Prints one JSON document: a list, per file, of
  {"raw": {section: {key: value-or-{nested}}}, "profiles": {name: {...}}}   (botocore's view)
or {"error": "<exception class>"} when botocore refuses the file.
"raw" is botocore.configloader.raw_config_parse (the credentials file's view) and "profiles"
is load_config(...)["profiles"] (the config file's view).
"""
import json
import sys

import botocore.configloader as cl
import botocore.exceptions as be


def main() -> None:
    out = []
    for path in sys.argv[1:]:
        try:
            raw = cl.raw_config_parse(path)
            profiles = cl.build_profile_map(raw)["profiles"]
            out.append({"raw": raw, "profiles": profiles})
        except (be.ConfigParseError, be.ConfigNotFound) as e:
            out.append({"error": type(e).__name__})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
