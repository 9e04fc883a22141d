"""The AWS CLI's own driver, kept in one process for many commands.

The `aws` command is `awscli.clidriver.main()`: argument parsing, --cli-input-json, signing and
output formatting all happen in the driver this script calls, with a fresh driver per command.
Only the interpreter's start-up (about a second of CPU per command) is shared, which is what
tests/it/real_clients.rs saves by sending its lifecycle here instead of starting `aws` for each
call.

Reads one JSON array of CLI arguments per line on stdin (without the leading `aws`); answers one
JSON object per line on stdout: {"rc": exit code, "stdout": ..., "stderr": ...}. Ends at EOF.
"""

import contextlib
import io
import json
import sys

from awscli.clidriver import create_clidriver


def main():
    answers = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        args = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = create_clidriver().main(args)
            except SystemExit as exit:
                rc = exit.code if isinstance(exit.code, int) else 1
        answers.write(json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
