"""A small agent-like program for the `command` system's tests: it reads the instruction resq hands it, finds the
function the instruction names, rewrites it, and commits like some agents do."""

import os
import re
import subprocess
import sys
from pathlib import Path

instruction = Path(os.environ["RESQ_INSTRUCTION_FILE"]).read_text()
print(f"task {os.environ['RESQ_TASK_ID']}: {instruction.splitlines()[0][:60]}")
names = set(re.findall(r"`(?:\w+\.)?(\w+)`", instruction))
if "allocate" not in names:
    sys.exit("nothing I know how to do")

module = Path(os.environ["RESQ_WORKSPACE"]) / "ledgerlite" / "money.py"
source = module.read_text()
old = source[source.index("        parts = []\n"):source.index("        return parts\n") + len("        return parts\n")]
new = """        units = int(self.amount / step)
        shares = [units * ratio // total for ratio in ratios]
        if units < 0:
            shares = [-(-units * ratio // total) for ratio in ratios]
        leftover = units - sum(shares)
        direction = 1 if leftover > 0 else -1
        for index in range(abs(leftover)):
            shares[index % len(shares)] += direction
        return [Money(share * step, self.currency) for share in shares]
"""
module.write_text(source.replace(old, new))
(Path(os.environ["RESQ_WORKSPACE"]) / "NOTES.md").write_text("allocate hands out leftover minor units\n")
subprocess.run(["git", "-c", "user.name=agent", "-c", "user.email=agent@localhost", "commit", "-qam", "fix"],
               check=True)
print("root folder mode:", oct(os.stat("/").st_mode & 0o777))
print("secret seen:", os.environ.get("RESQ_TEST_AGENT_SECRET", "none"))
