# Sourced by the test script: localstripe, a Stripe-compatible test server from PyPI, on a
# free loopback port, for the Stripe gateway's tests. ls_start sets STRIPE_TEST_URL; ls_stop
# stops it. scripts/setup.sh --test installs it into target/localstripe (a virtual env).

LOCALSTRIPE_VERSION=1.15.10

ls_venv() {
  echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/localstripe"
}

ls_install() {
  local venv
  venv=$(ls_venv)
  if [ -x "$venv/bin/localstripe" ] &&
     "$venv/bin/pip" show localstripe 2>/dev/null | grep -qx "Version: $LOCALSTRIPE_VERSION"; then
    return 0
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "localstripe==$LOCALSTRIPE_VERSION"
}

ls_start() {
  local venv
  venv=$(ls_venv)
  if [ ! -x "$venv/bin/localstripe" ]; then
    echo "localstripe.sh: localstripe is not installed (scripts/setup.sh --test installs it)" >&2
    return 1
  fi
  LS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  LS_DIR=$(mktemp -d /tmp/tally-localstripe.XXXXXX)
  # It keeps its state in the working folder's pickle only when asked; --from-scratch starts
  # empty.
  (cd "$LS_DIR" && exec "$venv/bin/localstripe" --port "$LS_PORT" --from-scratch >"$LS_DIR/log" 2>&1) &
  LS_PID=$!
  local i
  for i in $(seq 1 100); do
    if curl -s -o /dev/null -u sk_test_ready: "http://127.0.0.1:$LS_PORT/v1/customers"; then
      STRIPE_TEST_URL="http://127.0.0.1:$LS_PORT"
      export STRIPE_TEST_URL
      echo "localstripe $LOCALSTRIPE_VERSION on 127.0.0.1:$LS_PORT"
      return 0
    fi
    sleep 0.1
  done
  echo "localstripe.sh: localstripe did not start; its log:" >&2
  cat "$LS_DIR/log" >&2
  return 1
}

ls_stop() {
  [ -n "${LS_PID:-}" ] || return 0
  kill "$LS_PID" 2>/dev/null || true
  wait "$LS_PID" 2>/dev/null || true
  rm -rf "$LS_DIR"
  LS_PID=
}
