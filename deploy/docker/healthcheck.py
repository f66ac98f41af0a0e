"""The image's HEALTHCHECK: GET a path of the API on this container, exit 0 on 2xx.

    python /usr/local/bin/bohsense-healthcheck [PATH]     (default /api/v1/healthz)

The port is BOHSENSE_CLOUD_API_PORT (default 8080); the address is loopback, so an API
bound to 0.0.0.0 or 127.0.0.1 answers. Standard library only, no curl in the image. Exit
codes: 0 healthy, 1 not (the reason on one line: the status, or why no answer came).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/api/v1/healthz"
    if not path.startswith("/"):
        print(f"healthcheck: the path must start with '/', not {path!r}", file=sys.stderr)
        return 1
    port = os.environ.get("BOHSENSE_CLOUD_API_PORT", "8080")
    if not port.isdigit() or not 0 < int(port) < 65536:
        print(f"healthcheck: BOHSENSE_CLOUD_API_PORT {port!r} is not a port", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{int(port)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        print(f"healthcheck: {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"healthcheck: {url}: HTTP {status}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
