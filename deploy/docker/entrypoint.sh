#!/bin/sh
# Entry point of the bohsense cloud image: secrets from files, then the command.
#
# For each BOHSENSE_CLOUD_<NAME>_FILE variable (e.g. BOHSENSE_CLOUD_API_TOKEN_FILE=
# /run/secrets/api_token, as Compose and Kubernetes mount secrets), the file's content
# becomes BOHSENSE_CLOUD_<NAME> and the _FILE variable is removed, so the cloud's
# settings, which refuse unknown BOHSENSE_CLOUD_* variables, see only the setting. One
# trailing newline is dropped. A file that is missing, unreadable or empty, or a setting
# given both ways, stops the start with exit code 2 (invalid settings: restarting will
# not help) and one line naming the variable and the file, never the content.
set -eu

fail() {
  echo "bohsense-entrypoint: $*" >&2
  exit 2
}

for assignment in $(env | sed -n 's/^\(BOHSENSE_CLOUD_[A-Z0-9_]*_FILE\)=.*/\1/p'); do
  name=${assignment%_FILE}
  eval "path=\${$assignment}"
  eval "already=\${$name+set}"
  [ -z "$already" ] || fail "$name and $assignment are both set: use one"
  [ -f "$path" ] || fail "$assignment: $path is not a file"
  [ -r "$path" ] || fail "$assignment: $path cannot be read by uid $(id -u)"
  value=$(cat "$path") || fail "$assignment: $path cannot be read"
  [ -n "$value" ] || fail "$assignment: $path is empty"
  export "$name=$value"
  unset "$assignment"
done

[ "$#" -gt 0 ] || set -- bohsense --log-format json cloud run
exec "$@"
