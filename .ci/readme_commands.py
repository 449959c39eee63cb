"""Print the README's quick-start commands, one per line: the first line of each of the
first two ```sh blocks. CI runs them as written, so the README stays true."""

import sys
from pathlib import Path

text = Path(sys.argv[1]).read_text(encoding="utf-8")
commands, inside = [], False
for line in text.splitlines():
    if line.strip() == "```sh":
        inside = True
        continue
    if inside:
        commands.append(line.strip())
        inside = False
    if len(commands) == 2:
        break
print("\n".join(commands))
