"""An agent-like program for retrieval accounting tests: reads two files of the repository, edits one, and with
`--log` also writes what it read to $RESQ_CONTEXT_LOG (one JSON object a line)."""

import json
import os
import sys
from pathlib import Path

root = Path(os.environ["RESQ_WORKSPACE"])
money = (root / "ledgerlite" / "money.py").read_text()
parse = (root / "ledgerlite" / "parse.py").read_text()
if "--log" in sys.argv:
    with open(os.environ["RESQ_CONTEXT_LOG"], "a") as log:
        log.write(json.dumps({"path": "ledgerlite/money.py", "start": 1, "end": 20, "tokens": 123}) + "\n")
        log.write(json.dumps({"path": f"{root}/ledgerlite/parse.py", "start": 5, "end": 9}) + "\n")
        log.write("not json\n")
(root / "ledgerlite" / "money.py").write_text(money + "\n# looked at allocate\n")
print(f"read {len(money) + len(parse)} characters")
