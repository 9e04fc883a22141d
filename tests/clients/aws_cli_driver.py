"""The AWS CLI's own driver, kept in one process for many commands.

The `aws` command is `awscli.clidriver.main()`: argument parsing, --cli-input-json, signing and
output formatting all happen in the driver this script calls, one driver for every command as an
interactive shell around the CLI would keep it. The interpreter's start-up and the driver's
loading of the service models (about a second of CPU per command) are shared, which is what
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
    driver = create_clidriver()
    for line in sys.stdin:
        if not line.strip():
            continue
        args = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = driver.main(args)
            except SystemExit as exit:
                rc = exit.code if isinstance(exit.code, int) else 1
        answers.write(json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
